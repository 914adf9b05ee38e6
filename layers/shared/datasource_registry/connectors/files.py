"""Files on S3 (csv, json, parquet, orc): schema inferred by pyarrow from the header or footer only."""

from __future__ import annotations

import io
import json
from typing import Any

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.discovered import Column, DiscoveredSchema, Table

HEAD_BYTES = 64 * 1024  # csv/json: the schema is inferred from the first 64 KiB
TAIL_BYTES = 64 * 1024  # parquet/orc: the footer is read with one ranged GET of the last 64 KiB (more if needed)
FORMATS = {
    "csv": "csv",
    "tsv": "csv",
    "json": "json",
    "jsonl": "json",
    "ndjson": "json",
    "parquet": "parquet",
    "orc": "orc",
}


def split_path(ctx: Context) -> tuple[str, str]:
    """`s3://bucket/key`, or a key relative to source_config["bucket"]."""
    path = ctx.target.file_path or ""
    if path.startswith("s3://"):
        bucket, _, key = path[5:].partition("/")
    else:
        bucket, key = str(ctx.target.source_config.get("bucket") or ""), path.lstrip("/")
    if "://" in path and not path.startswith("s3://"):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "file_path must be s3://bucket/key or a key in the bucket")
    if not bucket or not key:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "file_path needs a bucket (s3://bucket/key or source_config.bucket) and a key",
        )
    return bucket, key


def file_format(type_name: str, key: str) -> str:
    if type_name in {"csv", "json", "parquet", "orc"}:
        return type_name
    extension = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    if extension in {"gz", "bz2", "zst"}:
        raise ConnectorError(ErrorCode.UNSUPPORTED, "compressed files are not supported yet")
    if extension not in FORMATS:
        raise ConnectorError(ErrorCode.UNSUPPORTED, f"cannot infer a schema from a .{extension or '?'} file")
    return FORMATS[extension]


class RangeReader(io.RawIOBase):
    """A seekable read-only file over S3 ranged GETs; counts the bytes it fetched."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int) -> None:
        super().__init__()
        self._s3, self._bucket, self._key, self._size = s3, bucket, key, size
        self._pos = 0
        self._blocks: list[tuple[int, bytes]] = []
        self.bytes_fetched = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _fetch(self, start: int, end: int) -> bytes:
        response = self._s3.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end - 1}")
        data: bytes = response["Body"].read()
        self.bytes_fetched += len(data)
        self.requests += 1
        self._blocks.append((start, data))
        return data

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if self._pos >= end:
            return b""
        for start, data in self._blocks:
            if start <= self._pos and end <= start + len(data):
                chunk = data[self._pos - start : end - start]
                self._pos = end
                return chunk
        fetch_start = self._pos
        if end > self._size - TAIL_BYTES:  # a footer read: fetch the whole tail once
            fetch_start = min(self._pos, max(0, self._size - TAIL_BYTES))
        data = self._fetch(fetch_start, max(end, min(self._size, fetch_start + TAIL_BYTES)))
        chunk = data[self._pos - fetch_start : end - fetch_start]
        self._pos = end
        return chunk

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _head_sample(s3: Any, bucket: str, key: str, size: int) -> tuple[bytes, bool]:
    if size == 0:
        return b"", False
    data: bytes = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"].read()
    return data, size > len(data)


def _whole_lines(data: bytes, truncated: bool) -> bytes:
    return data[: data.rfind(b"\n") + 1] if truncated else data  # drop the partial last line


def _json_lines(data: bytes, truncated: bool) -> bytes:
    text = data.decode("utf-8-sig", "replace").lstrip()
    if not text.startswith("["):
        return _whole_lines(text.encode(), truncated)
    # A JSON array cut at 64 KiB: decode element by element, stop at the cut.
    decoder, items, i = json.JSONDecoder(), list[Any](), 1
    while len(items) < 10_000:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            break
        try:
            item, i = decoder.raw_decode(text, i)
        except ValueError:
            if truncated:
                break
            raise
        items.append(item)
    return "\n".join(json.dumps(item) for item in items if isinstance(item, dict)).encode()


def infer_table(s3: Any, bucket: str, key: str, size: int, fmt: str) -> tuple[Table, int]:
    """The schema of one object, and the number of bytes fetched to learn it."""
    import pyarrow as pa

    rows: int | None = None
    fetched = 0
    try:
        if fmt in {"parquet", "orc"}:
            reader = RangeReader(s3, bucket, key, size)
            source = pa.PythonFile(reader, mode="r")
            if fmt == "parquet":
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(source)
                schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
            else:
                from pyarrow import orc

                orc_file = orc.ORCFile(source)
                schema, rows = orc_file.schema, orc_file.nrows
            fetched = reader.bytes_fetched
        else:
            data, truncated = _head_sample(s3, bucket, key, size)
            fetched = len(data)
            if fmt == "csv":
                import pyarrow.csv as pcsv

                delimiter = "\t" if key.lower().endswith(".tsv") else ","
                schema = pcsv.read_csv(
                    pa.BufferReader(_whole_lines(data, truncated)),
                    parse_options=pcsv.ParseOptions(delimiter=delimiter),
                ).schema
            else:
                import pyarrow.json as pjson

                schema = pjson.read_json(pa.BufferReader(_json_lines(data, truncated))).schema
    except (pa.ArrowException, ValueError, UnicodeError) as exc:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"cannot read a {fmt} schema from {key}: {exc}") from exc
    columns = [Column(f.name, str(f.type), f.nullable, None, i) for i, f in enumerate(schema, start=1)]
    name = key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or key
    return Table(bucket, name, "table", columns, [], rows), fetched


def _head(ctx: Context, s3: Any, bucket: str, key: str) -> int:
    with ctx.stage("authenticate", aws.classify):
        head = s3.head_object(Bucket=bucket, Key=key)
    size = int(head["ContentLength"])
    ctx.details.update(bucket=bucket, key=key, size=size)
    return size


def _infer(ctx: Context) -> Table:
    with ctx.stage("resolve"):
        bucket, key = split_path(ctx)
        fmt = file_format(ctx.target.type, key)
        s3 = aws.client(ctx, "s3")
    size = _head(ctx, s3, bucket, key)
    with ctx.stage("metadata", aws.classify):
        table, fetched = infer_table(s3, bucket, key, size, fmt)
    ctx.details.update(format=fmt, bytesFetched=fetched, columns=len(table.columns))
    return table


def check(ctx: Context) -> None:
    _infer(ctx)


def discover(ctx: Context) -> DiscoveredSchema:
    table = _infer(ctx)
    return DiscoveredSchema([table], details=dict(ctx.details))
