"""The Foundation dialect (000) under /api/data: entity + entity_info bodies, `state`, links, env_key secrets."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from datasource_registry.api.http import Header, QueryParam, Request
from datasource_registry.domain.credentials import shown_texts
from datasource_registry.domain.errors import FieldError, Forbidden, ValidationFailed
from datasource_registry.domain.model import DataSource, DataSourceSpec, Health
from datasource_registry.domain.rules import CREDENTIAL_NAME, field_errors, health_of, unreferenced_credentials
from datasource_registry.domain.service import CredentialChanges
from datasource_registry.domain.systems import DataSystem
from datasource_registry.domain.types import DATABASE_TYPES, DataSourceType

PROFILE = "foundation"  # DataSource.extensions namespace for 000-only profile data (label, owner, entity_info)
URN_PREFIX = "urn:meshx:backend:data:root:"
MAX_SECRET_BYTES = 16 * 1024

_STRICT = ConfigDict(extra="forbid", str_max_length=4096)
M = TypeVar("M", bound=BaseModel)


# -- request models ------------------------------------------------------------------------------------------
class EntityInfo(BaseModel):
    """Who answers for the entity (000's entity_info)."""

    model_config = _STRICT
    owner: Annotated[str | None, Field(default=None, max_length=320, description="Owner's e-mail address.")]
    contact_ids: Annotated[list[str], Field(default_factory=list, max_length=50, description="Contacts.")]
    links: Annotated[list[str], Field(default_factory=list, max_length=50, description="Related links.")]


class DataSourceEntity(BaseModel):
    """000's `entity` of a data source."""

    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=255, description="Descriptive name of the data source.")]
    entity_type: Annotated[Literal["origin"], Field(default="origin", description='Always "origin".')]
    label: Annotated[str | None, Field(default=None, max_length=32, description="Short code, typically 3 letters.")]
    description: Annotated[str, Field(default="", max_length=4000, description="What the data source provides.")]
    owner: Annotated[str | None, Field(default=None, max_length=320, description="Owning user, if any.")]


class CreateDataSourceBody(BaseModel):
    """POST /api/data/data_source."""

    model_config = _STRICT
    entity: DataSourceEntity
    entity_info: Annotated[EntityInfo, Field(default_factory=EntityInfo)]


class DataSourceEntityChanges(BaseModel):
    """The entity fields PUT may change; absent ones stay as they are."""

    model_config = _STRICT
    name: Annotated[str | None, Field(default=None, min_length=1, max_length=255)]
    entity_type: Literal["origin"] | None = None
    label: Annotated[str | None, Field(default=None, max_length=32)]
    description: Annotated[str | None, Field(default=None, max_length=4000)]
    owner: Annotated[str | None, Field(default=None, max_length=320)]


class UpdateDataSourceBody(BaseModel):
    """PUT /api/data/data_source?identifier=: given entity fields change; a given entity_info replaces the old."""

    model_config = _STRICT
    entity: DataSourceEntityChanges | None = None
    entity_info: EntityInfo | None = None


class EnvKey(BaseModel):
    """A secret reference: the value is set later with POST .../secret under this name."""

    model_config = _STRICT
    env_key: Annotated[str, Field(pattern=CREDENTIAL_NAME.pattern, description="Secret name, e.g. S3_ACCESS_KEY.")]


class Connection(BaseModel):
    """000's connection: a type plus its settings; a setting given as {"env_key": NAME} is a secret reference."""

    model_config = ConfigDict(extra="allow", str_max_length=4096)
    connection_type: Annotated[Literal["s3", "database", "synthetic"], Field(description="s3 | database | synthetic.")]
    engine: Annotated[
        str | None,
        Field(default=None, description="database only: postgresql, mysql, ... (001's types); default generic."),
    ]


class ConnectionBody(BaseModel):
    """PUT /api/data/data_source/connection?identifier=: replaces the connection as a whole."""

    model_config = _STRICT
    connection: Connection


class SecretValues(RootModel[Annotated[dict[str, str], Field(min_length=1)]]):
    """POST /api/data/data_source/secret?identifier=: env_key name -> secret value, for names the connection
    references; the values go to Secrets Manager and are never returned."""


class DataSystemEntity(BaseModel):
    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=255, description="Name of the data system.")]
    entity_type: Annotated[Literal["system"], Field(default="system", description='Always "system".')]
    label: Annotated[str | None, Field(default=None, max_length=32)]
    description: Annotated[str, Field(default="", max_length=4000)]
    owner: Annotated[str | None, Field(default=None, max_length=320)]


class CreateDataSystemBody(BaseModel):
    """POST /api/data/data_system, in 000's entity + entity_info style."""

    model_config = _STRICT
    entity: DataSystemEntity
    entity_info: Annotated[EntityInfo, Field(default_factory=EntityInfo)]


# -- response models: foundation_view() and system_view() serialize through them ------------------------------------
class EntityInfoView(BaseModel):
    """entity_info as stored: shown as it was accepted, without today's request limits."""

    owner: str | None
    contact_ids: list[str]
    links: list[str]


class EntityView(BaseModel):
    identifier: str
    urn: str
    name: str
    is_system: bool
    description: str
    label: str | None
    created_at: datetime
    state: Health | None
    owner: str | None


class LinksView(BaseModel):
    parents: list[str]
    children: list[str]


class FoundationDataSourceView(BaseModel):
    entity: EntityView
    entity_info: EntityInfoView
    links: LinksView
    compute_identifier: str | None
    secrets: Annotated[list[str], Field(description="Names of the secrets that are set; never their values.")]
    connection: dict[str, Any] | None


class DataSystemView(BaseModel):
    entity: EntityView
    entity_info: EntityInfoView
    links: LinksView


class FoundationDataSourceList(RootModel[list[FoundationDataSourceView]]):
    """000's list answer: a bare array (the next page's cursor travels in the x-next-cursor header)."""


class DataSystemList(RootModel[list[DataSystemView]]):
    """000's list of data systems: a bare array."""


class Deleted(BaseModel):
    identifier: str
    deleted: bool


# -- parsing -------------------------------------------------------------------------------------------------
X_ORG = Header(
    "x-org",
    "Your organisation (000): it must name the tenant of the bearer token, else 403.",
    {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9_.:-]+$"},
    required=True,
)


def require_org(request: Request) -> None:
    """000's x-org header must name the caller's organisation, i.e. the tenant of the verified token."""
    if request.header(X_ORG.name) != request.principal.tenant_id:
        raise Forbidden("The x-org header must name your organisation.")


SOURCE_IDENTIFIER = QueryParam("identifier", "Data source identifier.", required=True)
SYSTEM_IDENTIFIER = QueryParam("identifier", "Data system identifier.", required=True)


def identifier_of(request: Request) -> str:
    """The target of a 000 route, named by ?identifier=, once x-org has been checked."""
    require_org(request)
    return request.query_param("identifier", required=True) or ""


def foundation_body(model: type[M], body: Any) -> M:
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def profile_of(entity: DataSourceEntity | DataSystemEntity, info: EntityInfo) -> dict[str, Any]:
    return {"label": entity.label, "owner": entity.owner, "entity_info": info.model_dump()}


def create_spec(body: CreateDataSourceBody) -> DataSourceSpec:
    try:
        return DataSourceSpec.model_validate({"name": body.entity.name, "description": body.entity.description})
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, prefix="entity")) from None


def update_changes(body: UpdateDataSourceBody) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(spec changes, profile changes) of a PUT body."""
    changes: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    entity = body.entity
    if entity is not None:
        given = entity.model_fields_set
        changes.update({name: getattr(entity, name) for name in ("name", "description") if name in given})
        profile.update({name: getattr(entity, name) for name in ("label", "owner") if name in given})
    if body.entity_info is not None:
        profile["entity_info"] = body.entity_info.model_dump()
    return changes, {PROFILE: profile}


# Connection settings that are fields of a data source; every other plain setting goes to sourceConfig.
_DATABASE_FIELDS = {"host": "host", "port": "port", "database": "database_name", "schema": "schema_name"}
_CLEARED_BY_NEW_CONNECTION = ("host", "port", "database_name", "schema_name", "connection_string", "region")


def connection_changes(connection: Connection) -> dict[str, Any]:
    """A whole new connection as field changes of the data source (PUT replaces the previous connection)."""
    changes: dict[str, Any] = dict.fromkeys(_CLEARED_BY_NEW_CONNECTION)
    refs: dict[str, str] = {}
    config: dict[str, Any] = {}
    errors: list[FieldError] = []
    for setting, value in (connection.model_extra or {}).items():
        if isinstance(value, dict) and "env_key" in value:
            try:
                refs[setting] = EnvKey.model_validate(value).env_key
            except ValidationError as exc:
                errors.extend(field_errors(exc, prefix=f"connection.{setting}"))
        elif connection.connection_type == "database" and setting in _DATABASE_FIELDS:
            changes[_DATABASE_FIELDS[setting]] = value
        elif connection.connection_type == "s3" and setting == "region":
            changes["region"] = value
        else:
            config[setting] = value
    if errors:
        raise ValidationFailed(errors)
    kind = DataSourceType(connection.connection_type)
    if connection.connection_type == "database" and connection.engine is not None:
        engines = sorted(t.value for t in DATABASE_TYPES)
        if connection.engine not in engines:
            raise ValidationFailed([FieldError("connection.engine", f"must be one of {', '.join(engines)}")])
        kind = DataSourceType(connection.engine)
    changes.update(type=kind, connector_key=kind.value, source_config=config, secret_refs=refs)
    return changes


def with_connection_fields(errors: list[FieldError]) -> list[FieldError]:
    """The domain names fields as the canonical API does; 000's clients know them as connection settings."""
    names = {"host": "host", "port": "port", "databaseName": "database", "schemaName": "schema", "region": "region"}
    # A plain setting of a connection is kept in sourceConfig, where the catalogue's rules name it.
    return [
        FieldError(f"connection.{names.get(e.field, e.field.removeprefix('sourceConfig.'))}", e.reason) for e in errors
    ]


def secret_changes(source: DataSource, body: Any) -> CredentialChanges:
    """POST .../secret: {ENV_KEY: value}; every key must be an env_key the connection references."""
    if not isinstance(body, dict) or not body:
        raise ValidationFailed([FieldError("body", "must be a JSON object of env_key -> secret value")])
    errors = unreferenced_credentials(source.spec, list(body))
    for name, value in body.items():
        if not isinstance(value, str) or not value or len(value.encode("utf-8", "surrogatepass")) > MAX_SECRET_BYTES:
            errors.append(FieldError(name, f"must be a non-empty string of at most {MAX_SECRET_BYTES} bytes"))
        elif any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in value.replace("\r\n", "").replace("\n", "")):
            # Multi-line values (PEM keys) keep their line breaks; NUL, other controls and lone surrogates cannot
            # be stored or passed to a driver intact.
            errors.append(FieldError(name, "must not contain NUL, control characters or lone surrogates"))
    if errors:
        raise ValidationFailed(errors)
    return CredentialChanges(values=dict(body))


# -- views ---------------------------------------------------------------------------------------------------
def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def connection_view(source: DataSource) -> dict[str, Any] | None:
    """The connection as 000 writes it, rebuilt from the data source so edits in any dialect show."""
    spec = source.spec
    if spec.type is None:
        return None
    shown: dict[str, Any] = {}
    if spec.type in (DataSourceType.S3, DataSourceType.SYNTHETIC):
        shown["connection_type"] = spec.type.value
    else:
        shown["connection_type"] = "database"
        if spec.type is not DataSourceType.DATABASE:
            shown["engine"] = spec.type.value
        fields = {"host": spec.host, "port": spec.port, "database": spec.database_name, "schema": spec.schema_name}
        shown.update({name: value for name, value in fields.items() if value is not None})
    if spec.region:
        shown["region"] = spec.region
    shown.update(shown_texts(source)["source_config"])
    shown.update({setting: {"env_key": name} for setting, name in spec.secret_refs.items()})
    return shown


def _entity(identifier: str, kind: str, name: str, description: str, created_at: datetime) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "urn": f"{URN_PREFIX}{kind}:{identifier}",
        "name": name,
        "is_system": kind == "system",
        "description": description,
        "created_at": _timestamp(created_at),
    }


def foundation_view(source: DataSource) -> dict[str, Any]:
    profile = source.extensions.get(PROFILE, {})
    entity = _entity(source.id, "origin", source.spec.name, source.spec.description, source.created_at)
    entity.update(
        label=profile.get("label"),
        state=health_of(source).model_dump(),
        owner=profile.get("owner"),
    )
    data = {
        "entity": entity,
        "entity_info": profile.get("entity_info") or EntityInfo.model_validate({}).model_dump(),
        "links": {"parents": list(source.system_ids), "children": []},
        "compute_identifier": None,
        "secrets": list(source.credential_names),
        "connection": connection_view(source),
    }
    return FoundationDataSourceView.model_validate(data).model_dump(mode="json")


def system_view(system: DataSystem) -> dict[str, Any]:
    profile = system.extensions.get(PROFILE, {})
    entity = _entity(system.id, "system", system.name, system.description, system.created_at)
    entity.update(label=profile.get("label"), state=None, owner=profile.get("owner"))
    data = {
        "entity": entity,
        "entity_info": profile.get("entity_info") or EntityInfo.model_validate({}).model_dump(),
        "links": {"parents": [], "children": list(system.child_ids)},
    }
    return DataSystemView.model_validate(data).model_dump(mode="json")
