"""The Public v1 dialect (002) under /api/public/v1/data-sources: camelCase, `{"status", "data"}`, no secrets."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel

from datasource_registry.api import problems
from datasource_registry.api.problems import Problem
from datasource_registry.domain.credentials import shown_texts
from datasource_registry.domain.errors import DomainError, FieldError, ValidationFailed
from datasource_registry.domain.model import SECRET_MANAGER_KEY_PATTERN, DataSource, DataSourceSpec, Health
from datasource_registry.domain.rules import field_errors, health_of
from datasource_registry.domain.service import CredentialChanges
from datasource_registry.domain.types import SyncMode

PROFILE = "public_v1"  # DataSource.extensions namespace for 002 fields the domain has no use for
MAX_BULK = 100
MAX_BY_IDS = 100
M = TypeVar("M", bound=BaseModel)

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", str_max_length=4096)


class DataSourceFields(BaseModel):
    """002's PATCH field set. Secret-bearing fields are write-only and go to Secrets Manager."""

    model_config = _CAMEL
    user_name: Annotated[str | None, Field(default=None, description="User name (kept with the credentials).")]
    password: Annotated[str | None, Field(default=None, description="Password; write-only.")]
    last_test_connection_id: Annotated[str | None, Field(default=None, max_length=255)]
    last_ingest_id: Annotated[str | None, Field(default=None, max_length=255)]
    access_id: Annotated[str | None, Field(default=None, description="AWS access key ID (kept with the credentials).")]
    secret_key: Annotated[str | None, Field(default=None, description="AWS secret key; write-only.")]
    region: Annotated[str | None, Field(default=None, max_length=64, description="AWS region.")]
    secret_manager_key: Annotated[
        str | None,
        Field(
            default=None,
            pattern=SECRET_MANAGER_KEY_PATTERN,
            description="Name or ARN of an existing secret holding the credentials, instead of sending them; "
            "never changed or deleted by the registry.",
        ),
    ]
    account_name: Annotated[str | None, Field(default=None, max_length=255, description="Azure account name.")]
    azure_shared_key: Annotated[str | None, Field(default=None, description="Azure shared key; write-only.")]
    azure_tenant_id: Annotated[str | None, Field(default=None, max_length=255)]
    note: Annotated[str | None, Field(default=None, max_length=4000)]
    description: Annotated[str | None, Field(default=None, max_length=4000)]
    affinity_id: Annotated[str | None, Field(default=None, max_length=255)]
    role: Annotated[str | None, Field(default=None, max_length=255, description="Snowflake role.")]
    host: Annotated[str | None, Field(default=None, description="Host name or IP.")]
    port: Annotated[StrictStr | StrictInt | None, Field(default=None, description='TCP port, e.g. "5432".')]
    database_name: str | None = None
    warehouse: Annotated[str | None, Field(default=None, max_length=255, description="Snowflake warehouse.")]
    available_for_migration: bool | None = None
    available_for_writing: bool | None = None
    available_for_data_mastering: bool | None = None
    total_capacity: float | None = None
    driver_class_name: Annotated[str | None, Field(default=None, max_length=255)]
    include_patterns: Annotated[list[str] | None, Field(default=None, description="Replaces the whole list.")]
    exclude_patterns: Annotated[list[str] | None, Field(default=None, description="Replaces the whole list.")]
    scan_since_timeframe: Annotated[str | None, Field(default=None, max_length=64)]
    incremental: Annotated[bool | None, Field(default=None, description="Incremental scanning (syncMode).")]
    uri: Annotated[str | None, Field(default=None, description="Connection URI; a password in it is never returned.")]
    path: Annotated[str | None, Field(default=None, description="Object path for file-based sources.")]


class CreateDataSource(DataSourceFields):
    """POST item: the PATCH fields plus the resource name and database type that /filter matches."""

    name: Annotated[str, Field(min_length=1, max_length=255, description="Resource name (resourceNames).")]
    database_type: Annotated[
        str | None, Field(default=None, description="001's type name, e.g. postgresql (databaseTypes).")
    ]


class ByIdsRequest(BaseModel):
    model_config = _CAMEL
    ids: Annotated[list[str], Field(min_length=1, max_length=MAX_BY_IDS, description="Data source ids.")]


class FilterRequest(BaseModel):
    """At least one filter; `*` matches any run of characters (exact, prefix-*, *-suffix, *contains*)."""

    model_config = _CAMEL
    resource_names: Annotated[list[str] | None, Field(default=None, description="Name patterns, any may match.")]
    database_types: Annotated[list[str] | None, Field(default=None, description="Type patterns, any may match.")]


class PublicDataSourceView(BaseModel):
    """A data source as 002's GET returns it: configuration and metadata; never a secret."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
    id: str
    name: str
    database_type: str | None
    description: str
    host: str | None
    port: str | None
    database_name: str | None
    region: str | None
    warehouse: str | None
    role: str | None
    include_patterns: list[str]
    exclude_patterns: list[str]
    incremental: bool
    uri: str | None
    path: str | None
    secret_manager_key: str | None
    state: Health
    row_version: int
    created_at: datetime
    updated_at: datetime
    # 002's own fields, kept as given (null until set)
    last_test_connection_id: str | None = None
    last_ingest_id: str | None = None
    account_name: str | None = None
    azure_tenant_id: str | None = None
    note: str | None = None
    affinity_id: str | None = None
    available_for_migration: bool | None = None
    available_for_writing: bool | None = None
    available_for_data_mastering: bool | None = None
    total_capacity: float | None = None
    driver_class_name: str | None = None
    scan_since_timeframe: str | None = None


class PublicDataSourceAnswer(BaseModel):
    """002's answer holding one data source."""

    status: Annotated[int, Field(description="HTTP status code.", examples=[200])]
    data: PublicDataSourceView


class PublicDataSourcesAnswer(BaseModel):
    """002's answer holding a list of data sources."""

    status: Annotated[int, Field(description="HTTP status code.", examples=[200])]
    data: list[PublicDataSourceView]


class PublicBulkItemResult(BaseModel):
    """One item of a bulk create: `data` when it was created, else `error`, the problem it alone would have had."""

    index: Annotated[int, Field(description="Position of the item in the request array.")]
    status: Annotated[int, Field(description="200, or the problem's status.")]
    data: PublicDataSourceView | None = None
    error: Problem | None = None


class PublicCreateAnswer(BaseModel):
    """002's create answer: the source for an object body, a result per item for an array body."""

    status: Annotated[int, Field(description="HTTP status code.", examples=[200])]
    data: PublicDataSourceView | list[PublicBulkItemResult]


_BULK = Annotated[
    list[Any],
    Field(
        min_length=1,
        max_length=MAX_BULK,
        description="1-100 items, each a CreateDataSource checked on its own: an item that is not valid gets its "
        "own problem among the results (the answer is still 200), so the array's items are not constrained here.",
    ),
]


class CreateDataSources(RootModel[CreateDataSource | _BULK]):
    """POST body: one data source (an object, refused with a 400 when not valid) or 1-100 of them (an array)."""


# 002 field -> data source field (the one domain); canonical names appear in the domain's error messages.
_SPEC = {
    "name": "name",
    "database_type": "type",
    "description": "description",
    "host": "host",
    "port": "port",
    "database_name": "database_name",
    "region": "region",
    "include_patterns": "include_patterns",
    "exclude_patterns": "exclude_patterns",
    "uri": "connection_string",
    "path": "file_path",
    "secret_manager_key": "secret_manager_key",
    "warehouse": "warehouse",  # configuration, not secrets (002 lists them as plain fields)
    "role": "role",
}
# 002 field -> credential name (001's DataSourceCredentials, shared with the canonical API).
_CREDENTIALS = {
    "user_name": "username",
    "password": "password",
    "access_id": "access_key_id",
    "secret_key": "secret_access_key",
    "azure_shared_key": "azure_shared_key",
}
_SECRET_BEARING = {"password", "secret_key", "azure_shared_key"}
_PROFILE = [
    "last_test_connection_id",
    "last_ingest_id",
    "account_name",
    "azure_tenant_id",
    "note",
    "affinity_id",
    "available_for_migration",
    "available_for_writing",
    "available_for_data_mastering",
    "total_capacity",
    "driver_class_name",
    "scan_since_timeframe",
]
_ERROR_NAMES = {"type": "databaseType", "connectionString": "uri", "filePath": "path"}


def public_body(model: type[M], body: Any, prefix: str = "") -> M:
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError(prefix or "body", "must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, prefix=prefix)) from None


def _port(value: str | int | None) -> int | str | None:
    # ASCII digits only: str.isdigit() and int() also take fullwidth, Arabic-Indic and superscript digits,
    # which no driver reads (and int() refuses some of them: a 500).
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,5}", value.strip()):
        return int(value.strip())
    return value


def changes_of(fields: DataSourceFields) -> tuple[dict[str, Any], CredentialChanges, dict[str, dict[str, Any]]]:
    """(data source field changes, credential changes, 002-profile changes) of the fields given."""
    given = fields.model_fields_set
    if "secret_manager_key" in given and fields.secret_manager_key and given & _SECRET_BEARING:
        raise ValidationFailed(
            [FieldError("secretManagerKey", "give either secretManagerKey or the secret values, not both")]
        )
    spec = {_SPEC[name]: getattr(fields, name) for name in given if name in _SPEC}
    if "port" in spec:
        spec["port"] = _port(spec["port"])
    if "incremental" in given:
        spec["sync_mode"] = SyncMode.INCREMENTAL if fields.incremental else SyncMode.FULL_REFRESH
    credentials = {_CREDENTIALS[name]: getattr(fields, name) for name in given if name in _CREDENTIALS}
    profile = {to_camel(name): getattr(fields, name) for name in given if name in _PROFILE}
    return spec, CredentialChanges(values=credentials), {PROFILE: profile}


def public_field_errors(error: ValidationFailed, prefix: str = "") -> ValidationFailed:
    """The domain's field names in 002's words (databaseType, uri, path)."""
    renamed = []
    for item in error.errors:
        head, _, rest = item.field.partition(".")
        name = _ERROR_NAMES.get(head, head) + (f".{rest}" if rest else "")
        renamed.append(FieldError(f"{prefix}{name}", item.reason))
    return ValidationFailed(renamed, error.detail)


def create_spec(request: CreateDataSource, prefix: str = "") -> tuple[DataSourceSpec, dict[str, str], dict[str, Any]]:
    """(spec, credential values, extensions) of one create item."""
    spec_values, credentials, profile = changes_of(request)
    try:
        spec = DataSourceSpec.model_validate(spec_values)
    except ValidationError as exc:
        raise public_field_errors(ValidationFailed(field_errors(exc)), prefix) from None
    values = {name: value for name, value in credentials.values.items() if value is not None}
    return spec, values, {PROFILE: {k: v for k, v in profile[PROFILE].items() if v is not None}}


def public_view(source: DataSource) -> dict[str, Any]:
    spec = source.spec
    profile = source.extensions.get(PROFILE, {})
    return PublicDataSourceView(
        id=source.id,
        name=spec.name,
        database_type=spec.type.value if spec.type else None,
        description=spec.description,
        host=spec.host,
        port=str(spec.port) if spec.port is not None else None,
        database_name=spec.database_name,
        region=spec.region,
        warehouse=spec.warehouse,
        role=spec.role,
        include_patterns=spec.include_patterns,
        exclude_patterns=spec.exclude_patterns,
        incremental=spec.sync_mode is not SyncMode.FULL_REFRESH,
        uri=shown_texts(source)["connection_string"],
        path=spec.file_path,
        secret_manager_key=spec.secret_manager_key,
        state=health_of(source),
        row_version=source.row_version,
        created_at=source.created_at,
        updated_at=source.updated_at,
        **{name: profile.get(to_camel(name)) for name in _PROFILE},
    ).model_dump(mode="json", by_alias=True)


def envelope(data: Any, status: int = 200) -> dict[str, Any]:
    return {"status": status, "data": data}


def item_result(index: int, outcome: DataSource | DomainError) -> dict[str, Any]:
    """One entry of a bulk create: the created source, or the problem that item alone would have answered."""
    if isinstance(outcome, DomainError):
        status, payload = problems.from_error(outcome, public_view)
        return {"index": index, "status": status, "error": payload}
    return {"index": index, "status": 200, "data": public_view(outcome)}
