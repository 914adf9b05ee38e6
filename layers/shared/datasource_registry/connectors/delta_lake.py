"""Delta Lake tables on S3 (delta-rs, the `deltalake` package): schema, partition columns and version from the
table's transaction log (`_delta_log/`), never from its data files.

Test: the log is found and replayed to its latest version. Discovery: the schema of that version's metadata
action, its partition columns, and a row count summed from the add actions' `numRecords` statistics, which the log
replay has already loaded (no data file is opened): left out when a file was written without statistics, or when
the table has more than MAX_FILES_COUNTED files (the sum would cost a table of that many rows in memory).
"""

from __future__ import annotations

from typing import Any

from datasource_registry.connectors import lake
from datasource_registry.connectors.context import Context
from datasource_registry.discovered import Column, DiscoveredSchema

MAX_FILES_COUNTED = 100_000


def type_name(data_type: Any) -> str:
    """Delta's type names (the log's own spelling): long, string, decimal(10,2), array<int>, map<string,long>,
    struct<a:int,b:string>."""
    kind = getattr(data_type, "type", "")
    if kind == "array":
        return f"array<{type_name(data_type.element_type)}>"
    if kind == "map":
        return f"map<{type_name(data_type.key_type)},{type_name(data_type.value_type)}>"
    if kind == "struct":
        return "struct<" + ",".join(f"{f.name}:{type_name(f.type)}" for f in data_type.fields) + ">"
    return str(kind)


def _options(budget: float) -> dict[str, str]:
    # delta-rs takes object_store's retry settings too (hudi-rs does not): one retry within the budget, so a
    # refused connection is reported at once instead of after ten backoffs.
    return {"max_retries": "1", "retry_timeout": f"{int(budget)}s"}


def _open(ctx: Context, *, rows: bool) -> tuple[str, str, dict[str, Any]]:
    def load(uri: str, options: dict[str, str]) -> dict[str, Any]:
        from deltalake import DeltaTable

        table = DeltaTable(uri, storage_options=options)  # the log replayed: metadata, protocol, add actions
        metadata = table.metadata()
        found: dict[str, Any] = {
            "version": table.version(),
            "fields": table.schema().fields,
            "partitions": list(metadata.partition_columns),
            "name": metadata.name,
            "rows": None,
            "files": None,
        }
        if rows:
            actions = table.get_add_actions(flatten=True)
            found["files"] = actions.num_rows
            if 0 < actions.num_rows <= MAX_FILES_COUNTED and "num_records" in actions.column_names:
                counts = actions.column("num_records").to_pylist()
                found["rows"] = None if any(c is None for c in counts) else sum(int(c) for c in counts)
            elif actions.num_rows == 0:
                found["rows"] = 0
        return found

    bucket, path, found = lake.read_table(ctx, "delta", "reading the Delta log", load, _options)
    ctx.details["version"] = found["version"]
    return bucket, path, found


def check(ctx: Context) -> None:
    _, _, found = _open(ctx, rows=False)
    ctx.server_version = f"Delta table version {found['version']}"


def discover(ctx: Context) -> DiscoveredSchema:
    bucket, path, found = _open(ctx, rows=True)
    columns = [Column(f.name, type_name(f.type), bool(f.nullable), None, i) for i, f in enumerate(found["fields"], 1)]
    return lake.one_table(
        ctx,
        bucket,
        path,
        found["name"],
        columns,
        no_columns="the Delta log holds no schema",
        rows=found["rows"],
        partitionColumns=found["partitions"],
        files=found["files"],
        rowsFrom="add-action statistics",
    )
