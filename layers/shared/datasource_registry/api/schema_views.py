"""API models for connection tests and schema snapshots (routes under /api/v1/data-sources)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.api.canonical import PaginationView
from datasource_registry.connectors.result import ConnectionTestResult
from datasource_registry.domain.drift import ChangeKind, Severity
from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.model import Health
from datasource_registry.domain.ports import SnapshotMeta
from datasource_registry.domain.schema_diff import SchemaDiff
from datasource_registry.domain.schema_service import Discovery

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class StageView(BaseModel):
    model_config = _CAMEL
    name: Annotated[str, Field(description="resolve, connect, authenticate, metadata (tunnel first with SSH).")]
    ok: bool
    duration_ms: float
    error: str | None


class ConnectionTestView(BaseModel):
    model_config = _CAMEL
    success: bool
    stages: list[StageView]
    duration_ms: float
    error_code: Annotated[
        str | None,
        Field(
            description="DNS_FAILED, UNREACHABLE, TIMEOUT, TLS_FAILED, AUTH_FAILED, PERMISSION_DENIED, NOT_FOUND, BLOCKED_ADDRESS, UNSUPPORTED ..."
        ),
    ]
    error: str | None
    server_version: str | None
    ssh_host_key_fingerprint: Annotated[
        str | None, Field(description="The SSH host key seen; pin it with sshHostKeyFingerprint.")
    ]
    details: dict[str, Any]
    data_source_id: Annotated[str | None, Field(default=None, description="Set when a saved source was tested.")]
    state: Annotated[Health | None, Field(default=None, description="The saved source's health after the test.")]


def test_view(
    result: ConnectionTestResult, data_source_id: str | None = None, state: Health | None = None
) -> dict[str, Any]:
    body = result.to_dict()
    if data_source_id is not None:
        body["dataSourceId"] = data_source_id
        body["state"] = state.model_dump() if state else None
    return body


class SnapshotSummary(BaseModel):
    model_config = _CAMEL
    data_source_id: str
    version: int
    fingerprint: str
    discovered_at: datetime
    table_count: int
    estimated_rows: int | None


class DiscoveryView(SnapshotSummary):
    changed: Annotated[bool, Field(description="False when the schema equals the latest snapshot (no new version).")]
    diff: Annotated[dict[str, int] | None, Field(description="Summary of changes from the previous version.")]


class SchemaChangeView(BaseModel):
    model_config = _CAMEL
    kind: ChangeKind
    severity: Annotated[
        Severity,
        Field(
            description="breaking: removed or renamed table/column, narrowed or unknown type change, nullable -> not "
            "null, key or table kind changed. non_breaking: added table/column, widened type, not null -> nullable."
        ),
    ]
    table: Annotated[str, Field(description="schema.table (the new name for a renamed table).")]
    column: Annotated[str | None, Field(description="The column (the new name for a renamed one); null for tables.")]
    before: Annotated[
        str | None,
        Field(description="Type (column and type changes), old name (renames), nullability, or the key's columns."),
    ]
    after: Annotated[str | None, Field(description="The same after the change.")]


class SeverityCountsView(BaseModel):
    model_config = _CAMEL
    breaking: int
    non_breaking: int


class SchemaDiffView(BaseModel):
    model_config = _CAMEL
    data_source_id: str
    from_version: int
    to_version: int
    tables_added: list[str]
    tables_removed: list[str]
    tables_changed: list[dict[str, Any]]
    summary: dict[str, int]
    severity_counts: Annotated[SeverityCountsView, Field(description="Changes per severity in the whole diff.")]
    changes: Annotated[
        list[SchemaChangeView],
        Field(description="Each change with its kind and severity, breaking first; only one severity with ?severity="),
    ]


def _summary(data_source_id: str, meta: SnapshotMeta) -> dict[str, Any]:
    return {
        "dataSourceId": data_source_id,
        "version": meta.version,
        "fingerprint": meta.fingerprint,
        "discoveredAt": meta.discovered_at.isoformat().replace("+00:00", "Z"),
        "tableCount": meta.table_count,
        "estimatedRows": meta.estimated_rows,
    }


def discovery_view(discovery: Discovery) -> dict[str, Any]:
    return {
        **_summary(discovery.data_source_id, discovery.meta),
        "changed": discovery.changed,
        "diff": discovery.diff.summary() if discovery.diff else None,
    }


class ColumnView(BaseModel):
    model_config = _CAMEL
    name: str
    type: str
    nullable: bool
    default: str | None
    ordinal: int


class TableView(BaseModel):
    model_config = _CAMEL
    schema_: Annotated[str, Field(alias="schema")]
    name: str
    kind: Annotated[str, Field(description="table or view")]
    columns: list[ColumnView]
    primary_key: list[str]
    estimated_rows: Annotated[int | None, Field(description="The engine's estimate, where it keeps one.")]


class SchemaPage(SnapshotSummary):
    tables: list[TableView]
    pagination: PaginationView


def table_view(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored tables keep columns as compact lists; the API spells them out."""
    columns = [
        {"name": c[0], "type": c[1], "nullable": bool(c[2]), "default": c[3], "ordinal": c[4]}
        for c in stored.get("columns", [])
    ]
    return {
        "schema": stored["schema"],
        "name": stored["name"],
        "kind": stored.get("kind", "table"),
        "columns": columns,
        "primaryKey": stored.get("primaryKey", []),
        "estimatedRows": stored.get("estimatedRows"),
    }


def schema_page_view(
    data_source_id: str, meta: SnapshotMeta, tables: list[dict[str, Any]], offset: int, limit: int
) -> dict[str, Any]:
    following = offset + len(tables)
    more = following < meta.table_count
    return {
        **_summary(data_source_id, meta),
        "tables": [table_view(table) for table in tables],
        "pagination": {
            "total": meta.table_count,
            "limit": limit,
            "hasMore": more,
            "nextCursor": encode_offset(following) if more else None,
        },
    }


def diff_view(
    data_source_id: str, old: int, new: int, diff: SchemaDiff, severity: Severity | None = None
) -> dict[str, Any]:
    return {"dataSourceId": data_source_id, "fromVersion": old, "toVersion": new, **diff.to_dict(severity)}


def severity_filter(value: str | None) -> Severity | None:
    """?severity=breaking|non_breaking; absent means every change."""
    if value is None:
        return None
    try:
        return Severity(value)
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ValidationFailed([FieldError("severity", f"must be one of {choices}")]) from None


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"t{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error):
        text = ""
    if not (text.startswith("t") and text[1:].isdigit() and len(text) < 12):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")])
    return int(text[1:])
