"""Discovered schemas: tables and columns, a stable fingerprint, a compact JSON form, and diffs."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.domain import globs
from datasource_registry.domain.drift import Family, SchemaChange, Severity, changes_between, severity_counts

FORMAT_VERSION = 1


class Column(NamedTuple):
    # A NamedTuple, not a dataclass: discovery builds hundreds of thousands of these.
    name: str
    type: str
    nullable: bool
    default: str | None
    ordinal: int


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    kind: str  # "table" or "view"
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    estimated_rows: int | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Compact form: each column is [name, type, nullable, default, ordinal]."""
        out: dict[str, Any] = {
            "schema": self.schema,
            "name": self.name,
            "kind": self.kind,
            "columns": [[c.name, c.type, c.nullable, c.default, c.ordinal] for c in self.columns],
        }
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        if self.estimated_rows is not None:
            out["estimatedRows"] = self.estimated_rows
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        return cls(
            schema=data["schema"],
            name=data["name"],
            kind=data.get("kind", "table"),
            columns=[Column(c[0], c[1], bool(c[2]), c[3], int(c[4])) for c in data.get("columns", [])],
            primary_key=list(data.get("primaryKey", [])),
            estimated_rows=data.get("estimatedRows"),
        )

    def canonical(self) -> list[Any]:
        # Row estimates change all the time; they are not part of the schema's identity.
        cols = sorted(self.columns, key=lambda c: (c.ordinal, c.name))
        return [
            self.schema,
            self.name,
            self.kind,
            [[c.name, c.type, c.nullable, c.default] for c in cols],
            list(self.primary_key),
        ]


@dataclass(frozen=True)
class DiscoveredSchema:
    tables: list[Table]
    details: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """sha256 of the canonical content; equal schemas (in any table order) give equal fingerprints."""
        digest = hashlib.sha256()
        for table in sorted(self.tables, key=lambda t: (t.schema, t.name)):
            digest.update(json.dumps(table.canonical(), separators=(",", ":"), ensure_ascii=False).encode())
            digest.update(b"\n")
        return "sha256:" + digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "formatVersion": FORMAT_VERSION,
            "fingerprint": self.fingerprint(),
            "tableCount": len(self.tables),
            "tables": [t.to_dict() for t in self.tables],
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveredSchema:
        return cls(tables=[Table.from_dict(t) for t in data.get("tables", [])], details=dict(data.get("details", {})))


@dataclass(frozen=True)
class ColumnChange:
    name: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class TableChange:
    table: str
    columns_added: list[str]
    columns_removed: list[str]
    columns_changed: list[ColumnChange]
    primary_key_changed: bool
    kind_changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columnsAdded": self.columns_added,
            "columnsRemoved": self.columns_removed,
            "columnsChanged": [{"name": c.name, "before": c.before, "after": c.after} for c in self.columns_changed],
            "primaryKeyChanged": self.primary_key_changed,
            "kindChanged": self.kind_changed,
        }


@dataclass(frozen=True)
class SchemaDiff:
    tables_added: list[str]
    tables_removed: list[str]
    tables_changed: list[TableChange]
    # The same diff as one list of kinds and severities (domain/drift.py), breaking changes first.
    changes: list[SchemaChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.tables_added or self.tables_removed or self.tables_changed)

    def summary(self) -> dict[str, int]:
        return {
            "tablesAdded": len(self.tables_added),
            "tablesRemoved": len(self.tables_removed),
            "tablesChanged": len(self.tables_changed),
            "columnsAdded": sum(len(t.columns_added) for t in self.tables_changed),
            "columnsRemoved": sum(len(t.columns_removed) for t in self.tables_changed),
            "columnsChanged": sum(len(t.columns_changed) for t in self.tables_changed),
        }

    def severity_counts(self) -> dict[str, int]:
        return severity_counts(self.changes)

    def to_dict(self, severity: Severity | None = None) -> dict[str, Any]:
        """The whole diff; `severity` keeps only the changes of that severity in `changes` (counts stay whole)."""
        return {
            "tablesAdded": self.tables_added,
            "tablesRemoved": self.tables_removed,
            "tablesChanged": [t.to_dict() for t in self.tables_changed],
            "summary": self.summary(),
            "severityCounts": self.severity_counts(),
            "changes": [c.to_dict() for c in self.changes if severity is None or c.severity is severity],
        }


def _column_shape(column: Column) -> dict[str, Any]:
    return {"type": column.type, "nullable": column.nullable}


def diff_schemas(old: DiscoveredSchema, new: DiscoveredSchema, family: Family = "other") -> SchemaDiff:
    """What changed from `old` to `new`: tables added/removed, per table columns and primary key, and each change
    with its kind and severity (types judged by the rules of `family`)."""
    before = {t.qualified_name: t for t in old.tables}
    after = {t.qualified_name: t for t in new.tables}
    changed: list[TableChange] = []
    for name in sorted(before.keys() & after.keys()):
        old_t, new_t = before[name], after[name]
        old_cols = {c.name: c for c in old_t.columns}
        new_cols = {c.name: c for c in new_t.columns}
        col_changes = [
            ColumnChange(c, _column_shape(old_cols[c]), _column_shape(new_cols[c]))
            for c in sorted(old_cols.keys() & new_cols.keys())
            if _column_shape(old_cols[c]) != _column_shape(new_cols[c])
        ]
        change = TableChange(
            table=name,
            columns_added=[c.name for c in new_t.columns if c.name not in old_cols],
            columns_removed=[c.name for c in old_t.columns if c.name not in new_cols],
            columns_changed=col_changes,
            primary_key_changed=list(old_t.primary_key) != list(new_t.primary_key),
            kind_changed=old_t.kind != new_t.kind,
        )
        if (
            change.columns_added
            or change.columns_removed
            or col_changes
            or change.primary_key_changed
            or change.kind_changed
        ):
            changed.append(change)
    return SchemaDiff(
        tables_added=sorted(after.keys() - before.keys()),
        tables_removed=sorted(before.keys() - after.keys()),
        tables_changed=changed,
        changes=changes_between(old.tables, new.tables, family),
    )


@dataclass(frozen=True)
class NameFilter:
    """include/exclude globs on "schema.table" (the one dialect of domain/globs.py); no include pattern means all."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _include: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _exclude: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_include", globs.compile_any(self.include))
            object.__setattr__(self, "_exclude", globs.compile_any(self.exclude))
        except ValueError as exc:  # only a record written before patterns were checked at write can get here
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"an include/exclude pattern {exc}") from None

    def __call__(self, qualified_name: str) -> bool:
        if self._include is not None and self._include.fullmatch(qualified_name) is None:
            return False
        return self._exclude is None or self._exclude.fullmatch(qualified_name) is None

    def apply(self, tables: Iterable[Table]) -> list[Table]:
        return [t for t in tables if self(t.qualified_name)]

    def include_regex(self, engine: globs.Engine = "postgres") -> str | None:
        """A regex equivalent to the include globs, for pushing the filter down to a catalog query."""
        return _pushed_down(self.include, engine)

    def exclude_regex(self, engine: globs.Engine = "postgres") -> str | None:
        return _pushed_down(self.exclude, engine)


# Past this, a catalog's regex engine may refuse the expression as too complex; the filter then runs here only.
MAX_PUSHED_DOWN_REGEX = 8000


def _pushed_down(patterns: Sequence[str], engine: globs.Engine) -> str | None:
    if not patterns:
        return None
    regex = globs.any_of_regex(patterns, engine)
    return regex if len(regex) <= MAX_PUSHED_DOWN_REGEX else None
