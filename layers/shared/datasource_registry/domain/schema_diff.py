"""What changed between two discovered schemas: tables and columns added, removed and changed, keys, and every
change with its kind and severity (domain/drift.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasource_registry.discovered import Column, DiscoveredSchema
from datasource_registry.domain.drift import Family, SchemaChange, Severity, changes_between, severity_counts


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
