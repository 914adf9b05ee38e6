"""S3 buckets: reachability of bucket/prefix, and discovery of the datasets (folders) under the prefix."""

from __future__ import annotations

from typing import Any

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.files import FORMATS, infer_table
from datasource_registry.connectors.schema import DiscoveredSchema, NameFilter, Table

MAX_KEYS_LISTED = 1000  # discovery lists at most this many objects
MAX_DATASETS = 100  # and infers at most this many folders, one object each


def _bucket(ctx: Context) -> tuple[str, str, Any]:
    with ctx.stage("resolve"):
        bucket = str(ctx.target.source_config.get("bucket") or ctx.target.database_name or "")
        if not bucket:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "source_config.bucket is required")
        prefix = str(ctx.target.source_config.get("prefix") or "").lstrip("/")
        return bucket, prefix, aws.client(ctx, "s3")


def test(ctx: Context) -> None:
    bucket, prefix, s3 = _bucket(ctx)
    with ctx.stage("authenticate", aws.classify):
        s3.head_bucket(Bucket=bucket)
    with ctx.stage("metadata", aws.classify):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    ctx.details.update(bucket=bucket, prefix=prefix, empty=listing.get("KeyCount", 0) == 0)


def discover(ctx: Context) -> DiscoveredSchema:
    bucket, prefix, s3 = _bucket(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    with ctx.stage("metadata", aws.classify):
        datasets: dict[str, dict[str, Any]] = {}
        listed = 0
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"MaxItems": MAX_KEYS_LISTED, "PageSize": 1000}
        ):
            for obj in page.get("Contents", []):
                listed += 1
                key: str = obj["Key"]
                extension = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
                folder = key.rsplit("/", 1)[0] if "/" in key else ""
                if extension in FORMATS and len(datasets) < MAX_DATASETS:
                    datasets.setdefault(folder, obj)
        tables: list[Table] = []
        for folder, obj in sorted(datasets.items()):
            key = obj["Key"]
            table, _ = infer_table(s3, bucket, key, int(obj["Size"]), FORMATS[key.rsplit(".", 1)[-1].lower()])
            name = folder.removeprefix(prefix).strip("/") or table.name
            if names(f"{bucket}.{name}"):
                tables.append(Table(bucket, name, "table", table.columns, [], table.estimated_rows))
    return DiscoveredSchema(tables, details={"objectsListed": listed, "complete": listed < MAX_KEYS_LISTED})
