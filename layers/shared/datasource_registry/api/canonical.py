"""The canonical /api/v1/data-sources views: 003's contract carrying 001's fields (write bodies: canonical_writes.py)."""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.api.http import JsonText
from datasource_registry.domain.credentials import shown_texts
from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.ids import looks_like_id
from datasource_registry.domain.model import (
    KEY_PATTERN,
    DataSource,
    DataSourceSpec,
    Health,
    adopted,
    constructed,
)
from datasource_registry.domain.ports import Page
from datasource_registry.domain.rules import health_of


class CredentialsView(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
    configured: Annotated[
        list[str], Field(description="Names of the credentials that are set; values are never returned.")
    ]


class DataSourceView(DataSourceSpec):
    """A data source as the canonical API returns it."""

    id: str
    tenant_id: str
    key: str
    row_version: Annotated[
        int,
        Field(
            description="The configuration's version: advanced by every user write (not by tests or refreshes); send it back to update safely."
        ),
    ]
    state: Annotated[Health, Field(description="Health (000's state): code, reason, healthy.")]
    credentials: CredentialsView
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str | None
    last_tested_at: datetime | None
    last_successful_connection_at: datetime | None
    last_failed_connection_at: datetime | None
    failure_count: int
    failure_reason: str | None
    schema_discovered_at: datetime | None
    next_refresh_at: datetime | None
    last_refresh_at: datetime | None
    last_refresh_status: str | None


_SYSTEM_FIELDS = [
    "id",
    "tenant_id",
    "key",
    "row_version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "last_tested_at",
    "last_successful_connection_at",
    "last_failed_connection_at",
    "failure_count",
    "failure_reason",
    "schema_discovered_at",
    "next_refresh_at",
    "last_refresh_at",
    "last_refresh_status",
]


_SYSTEM_VALUES = operator.itemgetter(*_SYSTEM_FIELDS)
_VIEW_SIZE = len(DataSourceView.model_fields)
# The spec's fields, the system fields, state and credentials are every field of the view, each once (checked here,
# once): a view of that many values is complete and is built without a per-view check of its fields.
if len(DataSourceSpec.model_fields) + len(_SYSTEM_FIELDS) + 2 != _VIEW_SIZE or {
    *DataSourceSpec.model_fields,
    *_SYSTEM_FIELDS,
    "state",
    "credentials",
} != set(DataSourceView.model_fields):
    raise TypeError("DataSourceView is not the spec plus _SYSTEM_FIELDS, state and credentials")


def _view(source: DataSource) -> tuple[DataSourceView, dict[str, Any] | None]:
    """The view of a source (constructed: every value comes from a stored record or the domain), and what of it the
    answer leaves out: 003 shows the schedule as `{}` until one is set, then only the members that are."""
    values: dict[str, Any] = dict(source.spec.__dict__)  # every field of the spec
    values.update(shown_texts(source))
    values.update(zip(_SYSTEM_FIELDS, _SYSTEM_VALUES(source.__dict__), strict=True))
    values["state"] = health_of(source)
    values["credentials"] = adopted(CredentialsView, {"configured": list(source.credential_names)})
    unset = {name for name, value in source.spec.schedule.__dict__.items() if value is None}
    view = adopted(DataSourceView, values) if len(values) == _VIEW_SIZE else constructed(DataSourceView, values)
    return view, ({"schedule": unset} if unset else None)


def canonical_view(source: DataSource) -> dict[str, Any]:
    view, exclude = _view(source)
    data: dict[str, Any] = view.model_dump(mode="json", by_alias=True, exclude=exclude)
    return data


class PaginationView(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
    total: int
    limit: int
    has_more: bool
    next_cursor: str | None


class DataSourcePage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    data: list[DataSourceView]
    pagination: PaginationView


def page_view(page: Page, limit: int) -> JsonText:
    """The page as JSON text, each view serialized once by pydantic-core (no dict of dicts for json.dumps to walk
    again); the same document `DataSourcePage` describes."""
    cursor = encode_cursor(page.next_after) if page.next_after else None
    pagination = PaginationView(total=page.total, limit=limit, has_more=cursor is not None, next_cursor=cursor)
    serializer = DataSourceView.__pydantic_serializer__  # what view.model_dump_json calls, without its wrapper
    items = []
    for item in page.items:
        view, exclude = _view(item)
        items.append(serializer.to_json(view, by_alias=True, exclude=exclude))
    data = b",".join(items).decode()
    return JsonText(f'{{"data":[{data}],"pagination":{pagination.model_dump_json(by_alias=True)}}}')


def encode_cursor(after_id: str) -> str:
    # The cursor names only a position; the tenant always comes from the token, so it cannot be forged across.
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        after = None
    if not isinstance(after, str) or not looks_like_id(after):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")])
    return after


def reference_is_valid(reference: str) -> bool:
    return looks_like_id(reference) or re.fullmatch(KEY_PATTERN, reference) is not None
