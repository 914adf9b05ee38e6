"""The data source as the domain sees it: the user's configuration (spec) and the record the registry keeps."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from datasource_registry import globs
from datasource_registry.domain.names import check_name, refused_character
from datasource_registry.domain.types import DataSourceType, Status, SyncMode

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"
MAX_DOCUMENT_BYTES = 16 * 1024
NAME_MAX_LENGTH = 255
MAX_NESTING = 8
MAX_SECRET_REFS = 100
# A Secrets Manager secret name (letters, digits, /_+=.@-) or its ARN.
SECRET_MANAGER_KEY_PATTERN = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$"  # noqa: S105  # a name pattern, not a secret


def _accept_camel_and_snake(name: str) -> AliasChoices:
    return AliasChoices(to_camel(name), name)


# Requests may use 003's camelCase or 001's snake_case; responses are camelCase.
API_CONFIG = ConfigDict(
    alias_generator=AliasGenerator(validation_alias=_accept_camel_and_snake, serialization_alias=to_camel),
    populate_by_name=True,
    extra="forbid",
    str_max_length=4096,
    defer_build=True,  # a handler builds only the validators it uses, on first use
)


def check_connection_string(value: str) -> None:
    """ValueError when the URL parser every view uses refuses it (brackets, NFKC-unsafe host, a port that is not
    ASCII digits); the connectors apply their own stricter rules when they connect."""
    from datasource_registry.secret_parts import parse

    parse(value)  # UnreadableText (a ValueError) with a reason that quotes nothing of the string
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        # Never urllib's text: it quotes the netloc, password included.
        raise ValueError(
            "is not a URL the registry can read: check the host, brackets and port, and percent-encode reserved "
            "characters in the user name and password"
        ) from None
    host_port = parts.netloc.rpartition("@")[2].rpartition("]")[2]
    port = host_port.rpartition(":")[2] if ":" in host_port else ""
    if not re.fullmatch(r"[0-9]*", port):
        raise ValueError("has a port that is not ASCII digits")


def reject_control_characters(value: str, what: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(f"{what} must not contain control characters")
    return value


def _check_json_document(value: dict[str, Any], what: str) -> dict[str, Any]:
    import json

    def depth(node: Any, level: int = 1) -> int:
        if isinstance(node, dict):
            return max([depth(v, level + 1) for v in node.values()], default=level)
        if isinstance(node, list):
            return max([depth(v, level + 1) for v in node], default=level)
        return level

    if depth(value) > MAX_NESTING:
        raise ValueError(f"{what} may nest at most {MAX_NESTING} levels")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{what} must be at most {MAX_DOCUMENT_BYTES} bytes of JSON")
    return value


class Schedule(BaseModel):
    """003's sync schedule: a 5-field cron expression evaluated in an IANA time zone."""

    model_config = API_CONFIG

    cron: Annotated[
        str | None,
        Field(default=None, max_length=128, description="5-field cron expression, e.g. `0 2 * * *`."),
    ]
    timezone: Annotated[
        str | None, Field(default=None, max_length=64, description="IANA time zone, e.g. `America/New_York`.")
    ]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from datasource_registry.domain.cron import CronExpression

        CronExpression.parse(value)  # raises ValueError with the reason
        return " ".join(value.split())


class DataSourceSpec(BaseModel):
    """Everything a user may set on a data source (001's connection fields, 003's sync fields, 002's scoping)."""

    model_config = API_CONFIG

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH, description="Display name, 1-255 characters.")]
    description: Annotated[str, Field(default="", max_length=4000, description="Free-text description.")]
    type: Annotated[
        DataSourceType | None,
        Field(default=None, description="Data source type (001's DataSourceTypeEnum, 000's database/synthetic)."),
    ]
    connector_key: Annotated[
        str,
        Field(default="", max_length=255, description="Connector type key (003), e.g. `s3`, `snowflake`."),
    ]
    workspace_id: Annotated[int | None, Field(default=None, ge=0, description="Workspace ID (001).")]
    host: Annotated[str | None, Field(default=None, min_length=1, max_length=253, description="Host name or IP.")]
    port: Annotated[int | None, Field(default=None, ge=1, le=65535, description="TCP port.")]
    database_name: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    schema_name: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    connection_string: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=2048,
            description="Full connection URL, an alternative to host/port/database.",
        ),
    ]
    file_path: Annotated[
        str | None,
        Field(
            default=None,
            max_length=1024,
            description="Object path for file-based sources, e.g. `organizations/1/files/1/file.csv` or `s3://bucket/key`.",
        ),
    ]
    use_ssh_tunnel: Annotated[bool, Field(default=False, description="Connect through an SSH tunnel.")]
    ssh_host: Annotated[str | None, Field(default=None, min_length=1, max_length=253)]
    ssh_port: Annotated[int, Field(default=22, ge=1, le=65535)]
    ssh_username: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    ssh_local_port: Annotated[int | None, Field(default=None, ge=1, le=65535)]
    ssh_host_key_fingerprint: Annotated[
        str | None,
        Field(
            default=None,
            max_length=128,
            description="Pinned SSH host key, `SHA256:...` as the first test reports it.",
        ),
    ]
    connection_pool_size: Annotated[int, Field(default=5, ge=1, le=100)]
    connection_timeout: Annotated[
        int, Field(default=30, ge=1, le=900, description="Seconds allowed for a connection test.")
    ]
    query_timeout: Annotated[int, Field(default=300, ge=1, le=3600, description="Seconds allowed for one query.")]
    max_retries: Annotated[int, Field(default=3, ge=0, le=10)]
    schema_auto_refresh: Annotated[bool, Field(default=True, description="Refresh the schema on a schedule.")]
    schema_refresh_interval: Annotated[
        int,
        Field(
            default=3600,
            ge=60,
            le=30 * 86400,
            description="Seconds between schema refreshes (60 s to 30 days).",
        ),
    ]
    metadata: Annotated[dict[str, Any], Field(default_factory=dict, description="Free-form metadata.")]
    tags: Annotated[list[str], Field(default_factory=list, max_length=50, description="Tags for categorization.")]
    source_config: Annotated[
        dict[str, Any], Field(default_factory=dict, description="Connector-specific configuration (003).")
    ]
    file_format: Annotated[
        str | None, Field(default=None, max_length=32, description="File format, e.g. csv, parquet.")
    ]
    sync_mode: Annotated[SyncMode, Field(default=SyncMode.FULL_REFRESH)]
    schedule: Annotated[Schedule, Field(default_factory=Schedule, description="Sync and schema refresh schedule.")]
    schema_key: Annotated[str | None, Field(default=None, max_length=255, description="Target schema key.")]
    status: Annotated[Status, Field(default=Status.DRAFT, description="Lifecycle status.")]
    last_sync_at: Annotated[datetime | None, Field(default=None, description="ISO 8601 time of the last sync.")]
    last_sync_status: Annotated[str | None, Field(default=None, max_length=64)]
    record_count: Annotated[int, Field(default=0, ge=0, description="Number of records in the source.")]
    include_patterns: Annotated[
        list[str],
        Field(default_factory=list, max_length=200, description="Globs on `schema.table` to discover (002)."),
    ]
    exclude_patterns: Annotated[
        list[str],
        Field(default_factory=list, max_length=200, description="Globs on `schema.table` to skip (002)."),
    ]
    region: Annotated[str | None, Field(default=None, max_length=64, description="Cloud region (002).")]
    warehouse: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=255,
            description="Snowflake warehouse. Configuration, not a secret: 001 files it under `credentials`, "
            "where it is still accepted; it is stored and shown here.",
        ),
    ]
    role: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=255,
            description="Snowflake role. Configuration, not a secret (accepted under `credentials` too).",
        ),
    ]
    secret_refs: Annotated[
        dict[str, str],
        Field(default_factory=dict, description="Connection setting -> credential name (000's `env_key`)."),
    ]
    secret_manager_key: Annotated[
        str | None,
        Field(
            default=None,
            pattern=SECRET_MANAGER_KEY_PATTERN,
            description="Name or ARN of an existing Secrets Manager secret holding the credentials (002); "
            "the registry never changes or deletes it.",
        ),
    ]

    @model_validator(mode="after")
    def _type_and_connector_key(self) -> DataSourceSpec:
        # 003 names the connector by connectorKey, 001 by type: either one fills in the other.
        if self.type is None and self.connector_key in DataSourceType._value2member_map_:
            self.type = DataSourceType(self.connector_key)
        if not self.connector_key and self.type is not None:
            self.connector_key = self.type.value
        return self

    @field_validator("name", mode="before")
    @classmethod
    def _trim_name(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if len(value) > NAME_MAX_LENGTH:  # the documented maxLength holds for what was sent, not what is kept
            raise PydanticCustomError(
                "string_too_long", "String should have at most {max_length} characters", {"max_length": NAME_MAX_LENGTH}
            )
        return value.strip()

    @field_validator(
        "name", "description", "host", "database_name", "schema_name", "ssh_host", "ssh_username", "warehouse", "role"
    )
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        return None if value is None else reject_control_characters(value, "the value")

    @field_validator("name")
    @classmethod
    def _name_identity(cls, value: str) -> str:
        # Unique under NFKC + casefold (domain/names.py): no invisible characters, and a marker key that fits.
        return check_name(value)

    @field_validator("host", "ssh_host", "database_name", "schema_name", "ssh_username")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        reason = None if value is None else refused_character(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("connection_string")
    @classmethod
    def _readable_url(cls, value: str | None) -> str | None:
        # Every view shows it (redacted), so whatever the URL parser refuses is refused here, at write.
        if value is not None:
            check_connection_string(value)
        return value

    @field_validator("secret_refs")
    @classmethod
    def _bounded_refs(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_SECRET_REFS:
            raise ValueError(f"may name at most {MAX_SECRET_REFS} settings")
        for setting in value:
            if not 1 <= len(setting) <= 255 or refused_character(setting):
                raise ValueError("each setting must be 1-255 visible characters")
        return value

    @field_validator("host", "ssh_host")
    @classmethod
    def _host_shape(cls, value: str | None) -> str | None:
        if value is not None and (re.search(r"[\s/@?#\\]", value) or "://" in value):
            raise ValueError("must be a host name or IP address, without scheme, path or credentials")
        if value is not None:
            try:  # as the connectors and views will put it in a URL
                bracketed = value.startswith("[") or ":" not in value
                urlsplit("//" + (value if bracketed else f"[{value}]")).port  # noqa: B018  # parses the netloc
            except ValueError:
                raise ValueError("is not a host a URL can carry (brackets, port or characters)") from None
        return value

    @field_validator("file_path")
    @classmethod
    def _storage_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        reject_control_characters(value, "file path")
        path = value.removeprefix("s3://")
        if not path.strip():
            raise ValueError("cannot be empty")
        if path.startswith("/") or "\\" in path or "//" in path:
            raise ValueError("must be a storage object path such as organizations/1/files/1/file.csv")
        if any(part in {".", ".."} for part in path.split("/")):
            raise ValueError("must not contain '.' or '..' segments")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for raw in value:
            tag = reject_control_characters(raw.strip(), "a tag")
            if not 1 <= len(tag) <= 64:
                raise ValueError("each tag must be 1-64 characters")
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned

    @field_validator("include_patterns", "exclude_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for index, pattern in enumerate(value):
            reject_control_characters(pattern, "a pattern")
            if not 1 <= len(pattern) <= 512:
                raise ValueError("each pattern must be 1-512 characters")
            try:
                globs.check(pattern)
            except ValueError as exc:
                raise ValueError(f"pattern [{index}] {pattern!r} {exc}") from None
        return value

    @field_validator("metadata", "source_config")
    @classmethod
    def _bounded_document(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_json_document(value, "the object")


# Fields of 001's credentials object that are configuration, not secrets: stored on the data source and shown.
CONFIGURATION_IN_CREDENTIALS = ("warehouse", "role")


class Credentials(BaseModel):
    """001's DataSourceCredentials plus the secret-bearing fields of 002. Write-only: never returned (but for the
    configuration 001 files here, CONFIGURATION_IN_CREDENTIALS, which moves to the data source's own fields)."""

    model_config = API_CONFIG

    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    oauth_token: str | None = None
    ssh_private_key: Annotated[str | None, Field(default=None, max_length=16384)]
    ssh_passphrase: str | None = None
    # Configuration 001 files here; accepted for 001's clients and moved to the data source's own fields.
    warehouse: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    role: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    access_key_id: str | None = None
    secret_access_key: str | None = None
    azure_shared_key: str | None = None


class Health(BaseModel):
    """000's health `state` of a data source, derived from its configuration, secrets and last test."""

    model_config = ConfigDict(defer_build=True)
    code: str
    reason: str
    healthy: bool


class DataSource(BaseModel):
    """The registry's record of one data source: the spec plus what the registry itself tracks."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: str
    tenant_id: str
    key: str
    spec: DataSourceSpec
    row_version: int = 1  # the user's configuration: advanced by the user's writes only (README: rowVersion)
    revision: int = 0  # every stored write, the registry's own included; conditional writes compare it (internal)
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str | None = None
    secret_arn: str | None = None
    secret_version: str | None = None
    credential_names: list[str] = Field(default_factory=list)
    last_tested_at: datetime | None = None
    last_successful_connection_at: datetime | None = None
    last_failed_connection_at: datetime | None = None
    last_test_ok: bool | None = None
    failure_count: int = 0
    failure_reason: str | None = None
    schema_discovered_at: datetime | None = None
    next_refresh_at: datetime | None = None
    last_refresh_at: datetime | None = None
    last_refresh_status: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    system_ids: list[str] = Field(default_factory=list)  # the data systems (000) this source is linked to
    # Scheduled refresh bookkeeping (see domain/refresh_service.py): consecutive refresh failures drive the
    # backoff; the claim token names the one sweep that may run the due refresh; started marks it running.
    refresh_failures: int = 0
    refresh_claim: str | None = None
    refresh_started_at: datetime | None = None


Model = TypeVar("Model", bound=BaseModel)
_FIELD_NAMES: dict[type[BaseModel], frozenset[str]] = {}


def constructed(cls: type[Model], values: dict[str, Any]) -> Model:
    """An instance from values already known good and complete (one per field, nothing else), as `model_construct`
    makes it but without its per-field loop of defaults and aliases: reads of stored records and answers' views
    build thousands. A missing or unknown field is a programming error, refused here rather than read later."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(cls.model_fields)
    if values.keys() != names:
        missing, extra = names - values.keys(), values.keys() - names
        raise TypeError(f"{cls.__name__}: missing {sorted(missing)}, unknown {sorted(extra)}")
    return adopted(cls, values)


def adopted(cls: type[Model], values: dict[str, Any]) -> Model:
    """`constructed` without its check, for values whose fields are known complete by construction: a validated
    model's own `__dict__` (exactly its fields) when its class has the fields of `cls`, as the caller proved once."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance
