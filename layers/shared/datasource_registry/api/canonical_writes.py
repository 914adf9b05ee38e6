"""The canonical /api/v1/data-sources write bodies: create (POST) and change (PUT), in camelCase or snake_case.

Apart from the views (canonical.py) so that the read endpoints import none of the write models.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.alias_generators import to_camel

from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.model import (
    API_CONFIG,
    CONFIGURATION_IN_CREDENTIALS,
    KEY_PATTERN,
    Credentials,
    DataSourceSpec,
)
from datasource_registry.domain.rules import field_errors
from datasource_registry.domain.service import CredentialChanges


class CreateDataSourceRequest(DataSourceSpec):
    """POST body. `key` defaults to a slug of the name; `credentials` go to Secrets Manager, never to the table.

    001's snake_case spellings of the fields (`database_name` ...) are accepted as well as the camelCase shown.
    """

    key: Annotated[
        str | None,
        Field(
            default=None,
            pattern=KEY_PATTERN,
            description="Unique key in the tenant; derived from the name if omitted.",
        ),
    ]
    credentials: Annotated[
        Credentials | None,
        Field(default=None, description="Connection credentials; write-only, never returned."),
    ]
    storage_file_id: Annotated[
        int | None, Field(default=None, deprecated=True, description="[DEPRECATED] Ignored; use filePath.")
    ]

    def spec(self) -> DataSourceSpec:
        values = {name: getattr(self, name) for name in DataSourceSpec.model_fields}
        fields_set = self.model_fields_set & set(DataSourceSpec.model_fields)
        # 001 files warehouse and role under credentials: they are configuration, stored and shown on the source.
        for name in CONFIGURATION_IN_CREDENTIALS:
            given = getattr(self.credentials, name, None) if self.credentials is not None else None
            if given is not None and values[name] is None:
                values[name] = given
                fields_set = fields_set | {name}
        return DataSourceSpec.model_construct(_fields_set=fields_set, **values)

    def credential_values(self) -> dict[str, str]:
        if self.credentials is None:
            return {}
        values = self.credentials.model_dump(exclude_none=True, exclude=set(CONFIGURATION_IN_CREDENTIALS))
        return {k: v for k, v in values.items() if isinstance(v, str)}


CreateRequest = TypeVar("CreateRequest", bound=CreateDataSourceRequest)


# -- updates (PUT): only given fields change ---------------------------------------------------------------


def field_names(model: type[BaseModel]) -> dict[str, str]:
    """Every spelling a client may use for a field (camelCase and snake_case) -> the field's name."""
    names: dict[str, str] = {}
    for name in model.model_fields:
        names[name] = name
        names[to_camel(name)] = name
    return names


def _no_defaults(schema: dict[str, Any]) -> None:
    """A change names only what it changes: an absent field has no value, so the document shows no defaults."""
    for value in schema.get("properties", {}).values():
        value.pop("default", None)


def _changes_fields() -> dict[str, Any]:
    """Every field of a data source, optional and without its default; constraints and descriptions as the spec's."""
    fields: dict[str, Any] = {}
    for name, info in DataSourceSpec.model_fields.items():
        annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        fields[name] = (annotation, Field(default=None, description=info.description))
    return fields


class _ChangeControls(BaseModel):
    """What a change carries besides fields of the data source."""

    model_config = ConfigDict(**API_CONFIG, json_schema_extra=_no_defaults)
    row_version: Annotated[
        int | None, Field(default=None, description="Expected rowVersion (or send If-Match); stale -> 409.")
    ]
    credentials: Annotated[
        Credentials | None,
        Field(default=None, description="Values to set; a null value removes one; null here removes all."),
    ]
    storage_file_id: Annotated[
        int | None, Field(default=None, deprecated=True, description="[DEPRECATED] Ignored; use filePath.")
    ]


DataSourceChanges: type[BaseModel] = create_model(
    "DataSourceChanges",
    __base__=_ChangeControls,
    __doc__="The fields to change (camelCase, or 001's snake_case); only given fields change, the rest stay.",
    **_changes_fields(),
)


class UpdateDataSourceRequest(DataSourceChanges):
    """PUT body: `key` names the data source; the other given fields change (001's snake_case accepted too)."""

    key: Annotated[str, Field(pattern=KEY_PATTERN, description="Key of the data source to update.")]


# The names the parsers accept are the documented models' own fields, so the document and the parser agree.
_SPEC_NAMES = {
    spelling: name for spelling, name in field_names(DataSourceChanges).items() if name in DataSourceSpec.model_fields
}
_UPDATE_CONTROL = set(field_names(UpdateDataSourceRequest)) - set(_SPEC_NAMES)


def update_request(body: Any) -> tuple[str, dict[str, Any], CredentialChanges, Any]:
    """PUT body -> (key, field changes, credential changes, rowVersion as given)."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    key = body.get("key")
    if not isinstance(key, str) or not re.fullmatch(KEY_PATTERN, key):
        raise ValidationFailed([FieldError("key", "is required: the key of the data source to update")])
    changes, credentials, row_version = change_request(body)
    return key, changes, credentials, row_version


def change_request(body: Any) -> tuple[dict[str, Any], CredentialChanges, Any]:
    """The changes a body asks for: (field changes, credential changes, rowVersion as given); unknown fields: 400."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    changes: dict[str, Any] = {}
    unknown = []
    for name, value in body.items():
        if name in _UPDATE_CONTROL:
            continue
        if name in _SPEC_NAMES:
            changes[_SPEC_NAMES[name]] = value
        else:
            unknown.append(FieldError(name, "is not a field of a data source"))
    if unknown:
        raise ValidationFailed(unknown)
    credentials = credential_changes(body.get("credentials"), "credentials" in body)
    moved = {name: credentials.values[name] for name in CONFIGURATION_IN_CREDENTIALS if name in credentials.values}
    if moved:  # 001's warehouse and role: configuration, changed on the source itself
        changes = {**moved, **changes}
        credentials = CredentialChanges(
            values={k: v for k, v in credentials.values.items() if k not in moved}, clear=credentials.clear
        )
    return changes, credentials, body.get("rowVersion", body.get("row_version"))


def credential_changes(raw: Any, given: bool) -> CredentialChanges:
    if not given:
        return CredentialChanges()
    if raw is None:
        return CredentialChanges(clear=True)
    try:
        parsed = Credentials.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, prefix="credentials")) from None
    return CredentialChanges(values={name: getattr(parsed, name) for name in parsed.model_fields_set})


def create_request(body: Any) -> CreateDataSourceRequest:
    return parse_create(body, CreateDataSourceRequest)


def parse_create(body: Any, model: type[CreateRequest]) -> CreateRequest:
    """A create body parsed by `model` (the canonical one, or a dialect's stricter twin); problems name fields."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    try:
        # Strict JSON validation: a boolean is not an integer, a numeric string is not a number.
        return model.model_validate_json(json.dumps(body), strict=True)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
