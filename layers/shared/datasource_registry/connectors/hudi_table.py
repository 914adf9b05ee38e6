"""Apache Hudi tables on S3 (hudi-rs, the `hudi` package): schema and partition fields from the table's timeline,
never from its data files.

Test: `.hoodie/hoodie.properties` is read and the timeline listed (the table's type, version and latest completed
commit). Discovery: the Avro schema that the latest completed commit's metadata carries (or, before any commit,
`hoodie.table.create.schema`), as hudi-rs turns it into Arrow types; the record key fields as the primary key;
the partition fields. hudi-rs falls back to a base file's footer when a commit's metadata holds no schema: that
fallback is refused here (the Avro schema is asked for first, which never opens a base file), so a table written
without schema metadata is reported as such instead of having a data file read.
"""

from __future__ import annotations

from typing import Any

from datasource_registry.connectors import lake
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.discovered import Column, DiscoveredSchema


def _fields(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _open(ctx: Context, *, schema: bool) -> tuple[str, str, dict[str, Any]]:
    def load(uri: str, options: dict[str, str]) -> dict[str, Any]:
        from hudi import HudiTableBuilder

        table = HudiTableBuilder.from_base_uri(uri).with_storage_options(options).build()
        hudi_options = table.hudi_options()
        timeline = table.get_timeline()
        commits = timeline.get_completed_commits(desc=True) + timeline.get_completed_deltacommits(desc=True)
        found: dict[str, Any] = {
            "name": table.table_name,
            "type": table.table_type,
            "version": hudi_options.get("hoodie.table.version"),
            "latest": max((c.timestamp for c in commits), default=None),
            "recordKey": _fields(hudi_options.get("hoodie.table.recordkey.fields")),
            "partitionFields": _fields(hudi_options.get("hoodie.table.partition.fields")),
        }
        if schema:
            try:
                table.get_schema_in_avro_str()  # commit metadata or create schema only: never a base file
            except Exception as exc:
                raise ConnectorError(
                    ErrorCode.PROTOCOL_ERROR,
                    f"the Hudi timeline holds no schema (its latest commit has none, nor hoodie.properties): {exc}",
                ) from None
            found["schema"] = table.get_schema()  # now the same commit metadata, as Arrow types
        return found

    bucket, path, found = lake.read_table(ctx, "hudi", "reading the Hudi timeline", load)
    ctx.details.update(tableType=found["type"], tableVersion=found["version"], latestCommit=found["latest"])
    return bucket, path, found


def check(ctx: Context) -> None:
    _, _, found = _open(ctx, schema=False)
    ctx.server_version = f"Hudi {found['type']} table version {found['version']}"


def discover(ctx: Context) -> DiscoveredSchema:
    bucket, path, found = _open(ctx, schema=True)
    columns = [Column(f.name, str(f.type), bool(f.nullable), None, i) for i, f in enumerate(found["schema"], 1)]
    return lake.one_table(
        ctx,
        bucket,
        path,
        found["name"],
        columns,
        no_columns="the Hudi schema has no fields",
        key=found["recordKey"],
        partitionColumns=found["partitionFields"],
        recordKeyFields=found["recordKey"],
    )
