"""Apache Iceberg tables on S3: the schema from the table's metadata file, parsed by pyiceberg; no data file is read.

`filePath` names the table location (`s3://bucket/path/to/table`) or one metadata file (`...metadata.json`). For a
location, the current metadata file is found as Iceberg's file-system tables do: `metadata/version-hint.text` names
the version (`v<N>.metadata.json`); without a hint (tables a catalog writes, `<NNNNN>-<uuid>.metadata.json`) the
`metadata/` folder is listed (at most MAX_KEYS_LISTED keys) and the highest version wins. The metadata file, at
most MAX_METADATA_BYTES (gzip'd ones expanded to at most that too), is fetched with the connector's S3 client (the
source's keys, the deployment's endpoint, the call's deadline, no retries) and parsed with pyiceberg's
TableMetadataUtil: current schema (identifier fields as the key), default partition spec, current snapshot's
summary (`total-records` as the row count). Manifests and data files are never opened.
"""

from __future__ import annotations

import gzip
import re
import zlib
from typing import Any

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.files import split_path
from datasource_registry.discovered import Column, DiscoveredSchema, Table

MAX_METADATA_BYTES = 64 * 1024 * 1024  # a table with a long history has a big metadata file; past this it is refused
MAX_KEYS_LISTED = 10_000  # keys of metadata/ listed to find the latest metadata file when there is no version hint
HINT_BYTES = 1024
_METADATA_NAME = re.compile(r"^(?:v(?P<v>\d+)|(?P<n>\d+)-[^/]*)(?:\.gz)?\.metadata\.json(?:\.gz)?$")
METADATA_SUFFIXES = (".metadata.json", ".metadata.json.gz")


def _version(name: str) -> int | None:
    found = _METADATA_NAME.match(name)
    return int(found["v"] or found["n"]) if found else None


def _missing(exc: BaseException) -> bool:
    return aws.classify(exc) is ErrorCode.NOT_FOUND


def _read(ctx: Context, s3: Any, bucket: str, key: str, limit: int) -> bytes:
    ctx.query_timeout()  # each S3 call starts only while the call's deadline has not passed
    data: bytes = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit}")["Body"].read()
    if len(data) > limit:
        raise ConnectorError(
            ErrorCode.UNSUPPORTED, f"{key} is over {limit // (1024 * 1024)} MiB; metadata that large is not read"
        )
    return data


def _from_hint(ctx: Context, s3: Any, bucket: str, metadata_dir: str) -> str | None:
    """The metadata file version-hint.text names, if there is a hint and that file exists."""
    from botocore.exceptions import ClientError

    try:
        hint = _read(ctx, s3, bucket, f"{metadata_dir}version-hint.text", HINT_BYTES).decode("utf-8", "replace").strip()
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    except ConnectorError as exc:
        if exc.code is ErrorCode.UNSUPPORTED:
            return None  # over 1 KiB: not a hint Iceberg wrote, so the listing decides
        raise
    candidates = [f"{metadata_dir}{hint}"] if hint.endswith(METADATA_SUFFIXES) else []
    if hint.isdigit():
        candidates += [f"{metadata_dir}v{hint}.metadata.json", f"{metadata_dir}v{hint}.gz.metadata.json"]
    for key in candidates:
        ctx.query_timeout()
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        return key
    return None


def _from_listing(ctx: Context, s3: Any, bucket: str, metadata_dir: str) -> str:
    best: tuple[int, str, str] | None = None
    listed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=metadata_dir, PaginationConfig={"MaxItems": MAX_KEYS_LISTED, "PageSize": 1000}
    ):
        ctx.query_timeout()
        for obj in page.get("Contents", []):
            listed += 1
            key: str = obj["Key"]
            version = _version(key[len(metadata_dir) :])
            if version is not None:
                rank = (version, str(obj.get("LastModified", "")), key)
                best = rank if best is None or rank > best else best
    # Manifests share metadata/ and interleave with the metadata files in key order: past the bound a newer metadata
    # file may be unlisted, which the details say (a version hint avoids the listing altogether).
    ctx.details.update(metadataKeysListed=listed, metadataListingComplete=listed < MAX_KEYS_LISTED)
    if best is None:
        raise ConnectorError(
            ErrorCode.NOT_FOUND,
            f"no Iceberg metadata file (*.metadata.json) under s3://{bucket}/{metadata_dir}"
            + (f" in the first {MAX_KEYS_LISTED} keys" if listed >= MAX_KEYS_LISTED else ""),
        )
    return best[2]


def _metadata_key(ctx: Context, s3: Any, bucket: str, path: str) -> str:
    if path.endswith(METADATA_SUFFIXES):
        return path
    metadata_dir = path.rstrip("/") + "/metadata/"
    hinted = _from_hint(ctx, s3, bucket, metadata_dir)
    ctx.details.update(foundBy="version-hint" if hinted else "listing")
    return hinted or _from_listing(ctx, s3, bucket, metadata_dir)


def _decompressed(key: str, data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        text = inflater.decompress(data, MAX_METADATA_BYTES + 1)
    except zlib.error as exc:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is not valid gzip: {exc}") from None
    if len(text) > MAX_METADATA_BYTES:
        raise ConnectorError(
            ErrorCode.UNSUPPORTED, f"{key} expands past {MAX_METADATA_BYTES // (1024 * 1024)} MiB; not read"
        )
    return text


def parse_metadata(key: str, data: bytes) -> Any:
    """pyiceberg's TableMetadata of a metadata file's bytes (gzip'd or not)."""
    from pydantic import ValidationError
    from pyiceberg.exceptions import ValidationError as IcebergValidationError
    from pyiceberg.table.metadata import TableMetadataUtil

    text = _decompressed(key, data)
    try:
        return TableMetadataUtil.parse_raw(text.decode("utf-8"))
    except (IcebergValidationError, ValidationError, ValueError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        lines = str(exc).strip().splitlines()
        first = " ".join(line.strip() for line in lines[:2]) if lines else type(exc).__name__
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is not valid Iceberg table metadata: {first}") from None


def _load(ctx: Context) -> tuple[str, str, Any]:
    with ctx.stage("resolve"):
        bucket, path = split_path(ctx)
        s3 = aws.client(ctx, "s3")
    with ctx.stage("authenticate", aws.classify):  # the first S3 call: the hint, a listing or a metadata file
        key = _metadata_key(ctx, s3, bucket, path)
    with ctx.stage("metadata", aws.classify):
        data = _read(ctx, s3, bucket, key, MAX_METADATA_BYTES)
        metadata = parse_metadata(key, data)
    snapshot = metadata.current_snapshot()
    ctx.details.update(
        bucket=bucket,
        metadataLocation=f"s3://{bucket}/{key}",
        formatVersion=int(metadata.format_version),
        snapshotId=snapshot.snapshot_id if snapshot else None,
        bytesFetched=len(data),
    )
    return bucket, path, metadata


def check(ctx: Context) -> None:
    _load(ctx)


def _rows(metadata: Any) -> int | None:
    snapshot = metadata.current_snapshot()
    if snapshot is None:
        return 0  # a table no write has committed to yet
    summary = snapshot.summary
    total = summary.get("total-records") if summary is not None else None
    return int(total) if total is not None and str(total).isdigit() else None


def discover(ctx: Context) -> DiscoveredSchema:
    bucket, path, metadata = _load(ctx)
    schema = metadata.schema()
    columns = [
        Column(field.name, str(field.field_type), not field.required, None, i)
        for i, field in enumerate(schema.fields, start=1)
    ]
    spec = metadata.spec()
    fields = {f.field_id: f.name for f in schema.fields}
    partitioning = [
        {"name": p.name, "source": fields.get(p.source_id, str(p.source_id)), "transform": str(p.transform)}
        for p in spec.fields
    ]
    location = path if not path.endswith(METADATA_SUFFIXES) else path.rsplit("/metadata/", 1)[0]
    name = location.rstrip("/").rsplit("/", 1)[-1] or bucket
    key = sorted(schema.identifier_field_names())
    table = Table(bucket, name, "table", columns, key, _rows(metadata))
    details = {
        **ctx.details,
        "tableUuid": str(metadata.table_uuid),
        "schemaId": schema.schema_id,
        "partitionSpecId": spec.spec_id,
        "partitionSpec": partitioning,
    }
    return DiscoveredSchema([table], details=details)
