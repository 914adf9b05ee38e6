"""API models and views of configuration history: revisions, their diff, a restore, and the audit trail."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.history import Restored
from datasource_registry.domain.revisions import AuditPage, Change, Revision, RevisionPage

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
_AUDIT_POSITION = re.compile(r"[0-9T:.\-]{26}Z#[A-Za-z0-9_]{1,64}#[0-9]{10}(#r[0-9a-f]{8})?")


class ChangeView(BaseModel):
    model_config = _CAMEL
    field: Annotated[str, Field(description="The field, e.g. `port`, `sourceConfig`, `credentials.password`.")]
    before: Annotated[Any, Field(default=None, description="As the views show it (secrets redacted).")]
    after: Annotated[Any, Field(default=None, description="As the views show it (secrets redacted).")]
    credential: Annotated[
        str | None,
        Field(default=None, description="For a credential: added, changed or removed. Its value is never kept."),
    ]


class RevisionSummaryView(BaseModel):
    model_config = _CAMEL
    number: Annotated[int, Field(description="1 is the create; each configuration write adds one (= rowVersion).")]
    action: Annotated[str, Field(description="created, updated, restored, linked, unlinked or deleted.")]
    actor: Annotated[str, Field(description="The subject of the token that made the change.")]
    request_id: Annotated[str | None, Field(description="The API Gateway request id of the change.")]
    at: datetime
    restored_from: Annotated[int | None, Field(default=None, description="The revision a restore brought back.")]
    changes: list[ChangeView]


class RevisionView(RevisionSummaryView):
    data_source_id: str
    configuration: Annotated[
        dict[str, Any],
        Field(description="The whole configuration at this revision; credentials by name only, strings redacted."),
    ]


class RevisionPaginationView(BaseModel):
    model_config = _CAMEL
    limit: int
    has_more: bool
    next_cursor: str | None


class RevisionPageView(BaseModel):
    model_config = _CAMEL
    data_source_id: str
    data: Annotated[list[RevisionSummaryView], Field(description="Newest first.")]
    pagination: RevisionPaginationView


class RevisionDiffView(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True)
    data_source_id: Annotated[str, Field(alias="dataSourceId")]
    from_: Annotated[int, Field(alias="from")]
    to: int
    changes: Annotated[
        list[ChangeView],
        Field(description="Fields that differ; a credential is `changed` if any revision between changed it."),
    ]


class RestoreView(BaseModel):
    model_config = _CAMEL
    revision: Annotated[RevisionView, Field(description="The new revision the restore wrote.")]
    row_version: int
    credentials_to_set_again: Annotated[
        list[str],
        Field(
            description="Credentials whose value at that revision Secrets Manager no longer holds: the values in "
            "force were kept; set these again if they should differ."
        ),
    ]


class AuditEventView(BaseModel):
    model_config = _CAMEL
    at: datetime
    actor: str
    request_id: str | None
    action: str
    data_source_id: str
    revision: int
    fields: Annotated[list[str], Field(description="What changed, by name: `port changed`, `password added`.")]


class AuditPageView(BaseModel):
    model_config = _CAMEL
    data: Annotated[list[AuditEventView], Field(description="Oldest first.")]
    pagination: RevisionPaginationView


# -- views -------------------------------------------------------------------------------------------------
def _changes(changes: tuple[Change, ...] | list[Change]) -> list[dict[str, Any]]:
    return [
        {"field": c.field, "credential": c.credential}
        if c.credential is not None
        else {"field": c.field, "before": c.before, "after": c.after}
        for c in changes
    ]


def summary_view(revision: Revision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "action": revision.action,
        "actor": revision.actor,
        "requestId": revision.request_id,
        "at": revision.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "restoredFrom": revision.restored_from,
        "changes": _changes(revision.changes),
    }


def revision_view(revision: Revision) -> dict[str, Any]:
    return {
        "dataSourceId": revision.data_source_id,
        **summary_view(revision),
        "configuration": revision.configuration,
    }


def _pagination(limit: int, cursor: str | None) -> dict[str, Any]:
    return {"limit": limit, "hasMore": cursor is not None, "nextCursor": cursor}


def page_view(data_source_id: str, page: RevisionPage, limit: int) -> dict[str, Any]:
    cursor = _encode({"before": page.next_before}) if page.next_before is not None else None
    return {
        "dataSourceId": data_source_id,
        "data": [summary_view(revision) for revision in page.items],
        "pagination": _pagination(limit, cursor),
    }


def diff_view(data_source_id: str, old: int, new: int, changes: list[Change]) -> dict[str, Any]:
    return {"dataSourceId": data_source_id, "from": old, "to": new, "changes": _changes(changes)}


def restore_view(restored: Restored) -> dict[str, Any]:
    return {
        "revision": revision_view(restored.revision),
        "rowVersion": restored.source.row_version,
        "credentialsToSetAgain": restored.credentials_to_set_again,
    }


def audit_view(page: AuditPage, limit: int) -> dict[str, Any]:
    cursor = _encode({"after": page.next_after}) if page.next_after is not None else None
    return {
        "data": [
            {
                "at": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "actor": event.actor,
                "requestId": event.request_id,
                "action": event.action,
                "dataSourceId": event.data_source_id,
                "revision": event.revision,
                "fields": event.fields,
            }
            for event in page.items
        ],
        "pagination": _pagination(limit, cursor),
    }


# -- query parameters --------------------------------------------------------------------------------------
def _encode(position: dict[str, Any]) -> str:
    # A position only: the tenant always comes from the token, so a cursor cannot be forged into another's data.
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode(cursor: str, name: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))[name]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def revisions_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    before = _decode(cursor, "before")
    if isinstance(before, bool) or not isinstance(before, int) or not 1 <= before <= 10**9:
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")])
    return before


def audit_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    after = _decode(cursor, "after")
    if not isinstance(after, str) or not _AUDIT_POSITION.fullmatch(after):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")])
    return after


def since_param(value: str | None) -> datetime | None:
    """An ISO 8601 time (`2026-11-23T12:00:00Z`); one without a zone is UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed([FieldError("since", "must be an ISO 8601 time, e.g. 2026-11-23T12:00:00Z")]) from None


def revision_number(value: str, name: str = "n") -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < 1:
        raise ValidationFailed([FieldError(name, "must be a revision number from 1")])
    return int(value)
