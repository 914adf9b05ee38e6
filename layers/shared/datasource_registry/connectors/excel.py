"""Excel workbooks on S3 (xlsx, xlsm, xlsb, ods; legacy xls): one table per sheet, read with python-calamine.

What is read, and the bounds: a HeadObject gives the size, and a workbook over MAX_FILE_BYTES is refused before any
byte of it is fetched. Calamine parses a workbook from memory (it needs the zip's central directory, which sits at
the end of the file, and then the parts it names), so the whole file, at most MAX_FILE_BYTES, is fetched with one
GET. Before calamine expands anything, the zip's central directory is read from those bytes and a sheet whose
declared uncompressed XML is over MAX_SHEET_XML_BYTES is refused (a zip bomb never reaches the parser). Then each
sheet is decoded by calamine on demand, its first non-empty row taken as the header and the types inferred from at
most SAMPLE_ROWS rows under it. A test opens the workbook and lists its sheets; it decodes no sheet.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterable
from typing import Any

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.files import split_path
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

MAX_FILE_BYTES = 32 * 1024 * 1024  # a bigger workbook is refused: it would be downloaded whole
MAX_SHEET_XML_BYTES = 128 * 1024 * 1024  # a sheet whose XML expands past this is refused before it is parsed
SAMPLE_ROWS = 1000  # types are inferred from at most this many rows under the header
MAX_SHEETS = 10_000  # discovery's bound on tables
ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (OLE compound file): no compression to bound
MiB = 1024 * 1024


def _download(s3: Any, bucket: str, key: str, size: int) -> bytes:
    """The whole workbook, if it is within MAX_FILE_BYTES."""
    if size > MAX_FILE_BYTES:
        raise ConnectorError(
            ErrorCode.UNSUPPORTED,
            f"{key} is {size / MiB:.1f} MiB; Excel workbooks over {MAX_FILE_BYTES // MiB} MiB are not read"
            " (a workbook is parsed whole, so it would be downloaded whole)",
        )
    if size == 0:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is empty, not an Excel workbook")
    # The Range keeps the download bounded even if the object grew since the HeadObject.
    data: bytes = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_FILE_BYTES - 1}")["Body"].read()
    return data


def _part_sizes(key: str, data: bytes) -> dict[str, int]:
    """Declared uncompressed size of each part of a zip-based workbook, from its central directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is not a readable Excel workbook: {exc}") from None


def _parse(key: str, data: bytes) -> tuple[Any, dict[str, int]]:
    if data.startswith(ZIP_MAGIC):
        parts = _part_sizes(key, data)
        too_big = {name: n for name, n in parts.items() if n > MAX_SHEET_XML_BYTES}
        if too_big:
            name, n = max(too_big.items(), key=lambda item: item[1])
            raise ConnectorError(
                ErrorCode.UNSUPPORTED,
                f"{key}: part {name} expands to {n / MiB:.0f} MiB; parts over"
                f" {MAX_SHEET_XML_BYTES // MiB} MiB of XML are not read",
            )
    elif data.startswith(CFB_MAGIC):
        parts = {}
    else:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is not an Excel workbook (neither a zip nor xls)")
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise ConnectorError(ErrorCode.UNSUPPORTED, f"{key} is password-protected") from None
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key} is not a readable Excel workbook: {exc}") from None
    return workbook, parts


def _open(ctx: Context) -> tuple[str, str, Any, dict[str, int]]:
    """HeadObject ("authenticate"), then the download and calamine's opening of the workbook ("metadata")."""
    with ctx.stage("resolve"):
        bucket, key = split_path(ctx)
        s3 = aws.client(ctx, "s3")
    with ctx.stage("authenticate", aws.classify):
        size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    ctx.details.update(bucket=bucket, key=key, size=size)
    with ctx.stage("metadata", aws.classify):
        ctx.query_timeout()  # the download starts only while the call's deadline has not passed
        data = _download(s3, bucket, key, size)
        ctx.details.update(bytesFetched=len(data))
        workbook, parts = _parse(key, data)
        ctx.resources.callback(workbook.close)
        ctx.details.update(sheets=len(workbook.sheet_names))
    return bucket, key, workbook, parts


# -- type inference -------------------------------------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    """The type of one cell as calamine returns it (numbers are floats; dates and times are datetime objects)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() and abs(value) < 2**53 else "double"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    if isinstance(value, datetime.timedelta):
        return "duration"
    return "string"


def _merge(kinds: Iterable[str]) -> str:
    found = set(kinds)
    if not found:
        return "string"  # a column with no value in the sample
    if len(found) == 1:
        return found.pop()
    if found <= {"integer", "double"}:
        return "double"
    if found <= {"date", "timestamp"}:
        return "timestamp"
    return "string"


def _header_names(header: list[Any]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(header, start=1):
        text = str(int(cell)) if isinstance(cell, float) and cell.is_integer() else str(cell).strip()
        base = text if cell not in (None, "") else f"column_{i}"
        name, n = base, 1
        while name in seen:  # duplicate headers stay distinct, in order
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    return names


def sheet_columns(rows: list[list[Any]]) -> list[Column]:
    """Columns from the header row (rows[0]) and the types of the sampled rows under it."""
    if not rows:
        return []
    width = max(len(row) for row in rows)
    header = list(rows[0]) + [None] * (width - len(rows[0]))
    sample = rows[1 : SAMPLE_ROWS + 1]
    columns = []
    for i, name in enumerate(_header_names(header)):
        values = [row[i] if i < len(row) else None for row in sample]
        kinds = [k for k in map(_kind, values) if k is not None]
        nullable = len(kinds) < len(values) or not values
        columns.append(Column(name, _merge(kinds), nullable, None, i + 1))
    return columns


# -- the connector --------------------------------------------------------------------------------------------------


def check(ctx: Context) -> None:
    _open(ctx)


def discover(ctx: Context) -> DiscoveredSchema:
    _, key, workbook, parts = _open(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    workbook_name = key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or key
    tables: list[Table] = []
    import python_calamine

    with ctx.stage("metadata"):
        for sheet_name in workbook.sheet_names[:MAX_SHEETS]:
            if not names(f"{workbook_name}.{sheet_name}"):
                continue  # pushed down: a sheet left out is never decoded
            ctx.query_timeout()  # the deadline is checked between sheets
            try:
                sheet = workbook.get_sheet_by_name(sheet_name)
                rows = sheet.to_python(skip_empty_area=True, nrows=SAMPLE_ROWS + 1)
            except (python_calamine.CalamineError, ValueError) as exc:
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"{key}: sheet {sheet_name!r}: {exc}") from None
            columns = sheet_columns([list(row) for row in rows])
            estimated = max(sheet.height - 1, 0) if columns else 0
            tables.append(Table(workbook_name, sheet_name, "table", columns, [], estimated))
    ctx.details.update(sampleRows=SAMPLE_ROWS, zipParts=len(parts))
    return DiscoveredSchema(tables, details={**ctx.details, "complete": len(workbook.sheet_names) <= MAX_SHEETS})
