"""000's synthetic source: a generated, deterministic schema that is always healthy and needs no network."""

from __future__ import annotations

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

_TYPES = ("bigint", "text", "timestamp", "numeric(12,2)", "boolean")


def _schema(ctx: Context) -> DiscoveredSchema:
    config = ctx.target.source_config
    table_count = max(0, min(int(config.get("tables", 3)), 1000))
    column_count = max(1, min(int(config.get("columns", 5)), 200))
    schema = ctx.target.schema_name or "synthetic"
    tables = [
        Table(
            schema=schema,
            name=f"table_{t:03d}",
            kind="table",
            columns=[Column("id", "bigint", False, None, 1)]
            + [
                Column(f"col_{c:03d}", _TYPES[(t + c) % len(_TYPES)], True, None, c + 1) for c in range(1, column_count)
            ],
            primary_key=["id"],
            estimated_rows=1000 * (t + 1),
        )
        for t in range(table_count)
    ]
    return DiscoveredSchema(NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns).apply(tables))


def check(ctx: Context) -> None:
    with ctx.stage("metadata"):
        ctx.server_version = "synthetic"
        ctx.details["tables"] = len(_schema(ctx).tables)


def discover(ctx: Context) -> DiscoveredSchema:
    with ctx.stage("metadata"):
        return _schema(ctx)
