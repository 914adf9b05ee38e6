"""S3 buckets: reachability of bucket/prefix, and discovery of the datasets (folders) under the prefix."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.files import FORMATS, infer_table
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import DiscoveredSchema, Table

MAX_KEYS_LISTED = 1000  # discovery lists at most this many objects
MAX_DATASETS = 100  # and infers at most this many folders, one object each


# AWS's own S3 endpoints: s3.amazonaws.com, s3.<region>.amazonaws.com, s3-<region>..., s3.dualstack.<region>...
_AWS_S3_HOST = re.compile(
    r"^(?:(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.)?s3(?:[.-](?:dualstack\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?"
    r"\.amazonaws\.com$"
)


def location_of(url: str) -> tuple[str, str, str | None]:
    """Bucket, prefix and region named by an S3 URL (000's `url`): `s3://bucket/prefix`, or an AWS S3 endpoint URL
    in path style (`https://s3.<region>.amazonaws.com/bucket/prefix`) or virtual-hosted style
    (`https://bucket.s3.<region>.amazonaws.com/prefix`). Other endpoints (S3-compatible stores) are refused: the
    registry reaches S3 through its deployment's AWS endpoint only."""
    parts = urlsplit(url.strip())
    path = unquote(parts.path).lstrip("/")
    if parts.scheme == "s3" and parts.hostname:
        return parts.hostname, path, None
    found = _AWS_S3_HOST.match(parts.hostname or "") if parts.scheme == "https" else None
    if found is None:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "the url must be s3://bucket/prefix or an https URL of AWS S3 (s3.<region>.amazonaws.com);"
            " endpoints of other S3-compatible stores are not supported",
        )
    if found["bucket"]:
        return found["bucket"], path, found["region"]
    bucket, _, prefix = path.partition("/")
    if not bucket:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG, "the url names no bucket (https://s3.<region>.amazonaws.com/<bucket>)"
        )
    return bucket, prefix, found["region"]


def _bucket(ctx: Context) -> tuple[str, str, Any]:
    with ctx.stage("resolve"):
        config = ctx.target.source_config
        bucket = str(config.get("bucket") or ctx.target.database_name or "")
        prefix = str(config.get("prefix") or "")
        region: str | None = None
        if not bucket and config.get("url"):
            bucket, prefix, region = location_of(str(config["url"]))
        if not bucket:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "source_config.bucket (or an S3 url) is required")
        return bucket, prefix.lstrip("/"), aws.client(ctx, "s3", region=region)


def check(ctx: Context) -> None:
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
