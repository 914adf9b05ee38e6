"""Excel workbooks and Iceberg tables on S3 (moto server), written by the real libraries: openpyxl writes the xlsx
files, pyiceberg's SqlCatalog (sqlite) writes Iceberg tables into a warehouse on the same S3. Run in-process and
through the files runner (THROUGH_RUNNERS)."""

from __future__ import annotations

import datetime
import gzip
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import openpyxl
import pyarrow as pa
import pytest

from datasource_registry.connectors import ConnectionTarget, ConnectorError, check_connection, discover_schema
from datasource_registry.connectors.excel import MAX_FILE_BYTES, MAX_SHEET_XML_BYTES, SAMPLE_ROWS

from .conftest import LOOPBACK, CountingProxy, free_port

KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}  # moto's placeholder keys


def s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def target(type_name: str, path: str, bucket: str | None = None, **extra: Any) -> ConnectionTarget:
    return ConnectionTarget(type=type_name, file_path=path, source_config={"bucket": bucket} if bucket else {}, **extra)


# --- Excel ----------------------------------------------------------------------------------------


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


ORDERS = [
    ["id", "customer", "total", "placed", "note", "paid"],
    [1, "ann", 9.5, datetime.datetime(2024, 1, 2, 3, 4), None, True],
    [2, "bo", 12, datetime.datetime(2024, 1, 3, 8, 0), "rush", False],
    [3, "cy", 7.25, datetime.datetime(2024, 1, 4, 9, 30), None, True],
]
PEOPLE = [["name", "born", None, "name"], ["ann", datetime.date(1990, 5, 1), 1, "x"]]


def test_each_sheet_is_a_table_with_the_header_as_columns(moto_endpoint: str, s3_bucket: str) -> None:
    s3(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="reports/q1.xlsx", Body=workbook_bytes({"orders": ORDERS, "people": PEOPLE})
    )

    discovered = discover_schema(
        target("excel", f"s3://{s3_bucket}/reports/q1.xlsx"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    orders, people = discovered.tables
    assert (orders.schema, orders.name, orders.estimated_rows) == ("q1", "orders", 3)
    assert [(c.name, c.type, c.nullable) for c in orders.columns] == [
        ("id", "integer", False),
        ("customer", "string", False),
        ("total", "double", False),  # 9.5, 12 and 7.25: integers and doubles widen to double
        ("placed", "timestamp", False),
        ("note", "string", True),
        ("paid", "boolean", False),
    ]
    # An empty header gets a positional name; a repeated one a suffix
    assert [(c.name, c.type) for c in people.columns] == [
        ("name", "string"),
        ("born", "date"),
        ("column_3", "integer"),
        ("name_2", "string"),
    ]
    assert discovered.details["sampleRows"] == SAMPLE_ROWS


def test_a_test_opens_the_workbook_and_counts_its_sheets(moto_endpoint: str, s3_bucket: str) -> None:
    body = workbook_bytes({"orders": ORDERS, "people": PEOPLE})
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="q1.xlsx", Body=body)

    # The key relative to the source's bucket setting
    result = check_connection(target("excel", "q1.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "authenticate", "metadata"]
    assert result.details["sheets"] == 2
    assert result.details["bytesFetched"] == len(body)


def test_types_come_from_a_bounded_sample_of_rows(moto_endpoint: str, s3_bucket: str) -> None:
    # Given a column of integers whose first text value is past the sampled rows
    rows: list[list[Any]] = [["n", "late"]] + [[i, i] for i in range(SAMPLE_ROWS)] + [[0, "text"]]
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="long.xlsx", Body=workbook_bytes({"data": rows}))

    discovered = discover_schema(
        target("excel", "long.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    # Then the type is that of the sample, and the row count that of the whole sheet
    (table,) = discovered.tables
    assert [(c.name, c.type) for c in table.columns] == [("n", "integer"), ("late", "integer")]
    assert table.estimated_rows == SAMPLE_ROWS + 1


def test_sheets_left_out_by_the_patterns_are_not_tables(moto_endpoint: str, s3_bucket: str) -> None:
    s3(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="q1.xlsx", Body=workbook_bytes({"orders": ORDERS, "people": PEOPLE})
    )

    discovered = discover_schema(
        target("excel", "q1.xlsx", s3_bucket, exclude_patterns=["q1.people"]),
        KEYS,
        LOOPBACK,
        aws_endpoint_url=moto_endpoint,
    )

    assert [t.name for t in discovered.tables] == ["orders"]


def test_a_workbook_over_the_size_limit_is_refused_without_downloading_it(
    moto_endpoint: str, s3_bucket: str, counting_proxy: CountingProxy
) -> None:
    # Given an object one byte over the limit
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="huge.xlsx", Body=b"\0" * (MAX_FILE_BYTES + 1))
    before = counting_proxy.bytes_to_client

    result = check_connection(
        target("excel", "huge.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=counting_proxy.url
    )

    assert result.error_code == "UNSUPPORTED"
    assert "over 32 MiB are not read" in (result.error or "")
    assert counting_proxy.bytes_to_client - before < 64 * 1024  # the HeadObject, not the body


def test_a_sheet_that_expands_past_the_limit_is_refused_before_it_is_parsed(moto_endpoint: str, s3_bucket: str) -> None:
    # Given a small, valid workbook whose sheet XML is padded (whitespace compresses ~1000:1) past the limit
    small = workbook_bytes({"orders": ORDERS})
    sink = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small)) as source, zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (MAX_SHEET_XML_BYTES + 1), 1)
            bomb.writestr(info.filename, data)
    assert len(sink.getvalue()) < MAX_FILE_BYTES // 32
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="bomb.xlsx", Body=sink.getvalue())

    with pytest.raises(ConnectorError) as caught:
        discover_schema(target("excel", "bomb.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert caught.value.code == "UNSUPPORTED"
    assert "xl/worksheets/sheet1.xml expands to 128 MiB" in caught.value.message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"id,name\n1,ann\n" * 20, "neither a zip nor xls"),  # a csv named .xlsx
        (b"", "empty"),
    ],
)
def test_a_file_that_is_no_workbook_is_a_protocol_error(
    moto_endpoint: str, s3_bucket: str, body: bytes, says: str
) -> None:
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="fake.xlsx", Body=body)

    result = check_connection(target("excel", "fake.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert (result.error_code, says in (result.error or "")) == ("PROTOCOL_ERROR", True), result.error


def test_a_zip_that_is_no_workbook_is_a_protocol_error(moto_endpoint: str, s3_bucket: str) -> None:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key="fake.xlsx", Body=sink.getvalue())

    with pytest.raises(ConnectorError) as caught:
        discover_schema(target("excel", "fake.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert caught.value.code == "PROTOCOL_ERROR"
    assert "not a readable Excel workbook" in caught.value.message


def test_a_missing_workbook_is_not_found(moto_endpoint: str, s3_bucket: str) -> None:
    result = check_connection(target("excel", "nope.xlsx", s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert (result.error_code, result.stages[-1].name) == ("NOT_FOUND", "authenticate")


# --- Iceberg --------------------------------------------------------------------------------------


@pytest.fixture
def catalog(moto_endpoint: str, s3_bucket: str, tmp_path: Path) -> Iterator[Any]:
    """pyiceberg's SQL catalog (sqlite) with its warehouse on the moto S3, files written through pyarrow's S3."""
    from pyiceberg.catalog.sql import SqlCatalog

    properties = {
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
        "warehouse": f"s3://{s3_bucket}/warehouse",
        "s3.endpoint": moto_endpoint,
        "s3.access-key-id": "testing",
        "s3.secret-access-key": "testing",
        "s3.region": "us-east-1",
    }
    sql_catalog = SqlCatalog("test", **properties)
    sql_catalog.create_namespace("sales")
    yield sql_catalog
    sql_catalog.engine.dispose()


def orders_table(catalog: Any) -> Any:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestampType

    schema = Schema(
        NestedField(1, "order_id", LongType(), required=True),
        NestedField(2, "customer", StringType(), required=False),
        NestedField(3, "total", DoubleType(), required=False),
        NestedField(4, "placed_at", TimestampType(), required=False),
        identifier_field_ids=[1],
    )
    # Identity: a day() partition would need pyiceberg-core to write, a package the connector does not need.
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="customer"))
    table = catalog.create_table("sales.orders", schema=schema, partition_spec=spec)
    table.append(
        pa.table(
            {
                "order_id": pa.array([1, 2, 3], pa.int64()),
                "customer": ["ann", "bo", None],
                "total": [9.5, 12.0, 7.25],
                "placed_at": pa.array([datetime.datetime(2024, 1, d) for d in (2, 3, 3)], pa.timestamp("us")),
            },
            schema=table.schema().as_arrow(),
        )
    )
    return table


def test_an_iceberg_table_is_discovered_from_its_metadata(moto_endpoint: str, catalog: Any) -> None:
    table = orders_table(catalog)

    discovered = discover_schema(target("iceberg", table.location()), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    (found,) = discovered.tables
    assert (found.name, found.primary_key, found.estimated_rows) == ("orders", ["order_id"], 3)
    assert [(c.name, c.type, c.nullable) for c in found.columns] == [
        ("order_id", "long", False),
        ("customer", "string", True),
        ("total", "double", True),
        ("placed_at", "timestamp", True),
    ]
    details = discovered.details
    assert details["partitionSpec"] == [{"name": "customer", "source": "customer", "transform": "identity"}]
    assert details["metadataLocation"] == table.metadata_location
    assert (details["foundBy"], details["snapshotId"]) == ("listing", table.current_snapshot().snapshot_id)
    assert details["metadataListingComplete"] is True


def test_a_test_finds_and_parses_the_current_metadata(moto_endpoint: str, catalog: Any) -> None:
    table = orders_table(catalog)

    result = check_connection(target("iceberg", table.location() + "/"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert result.details["metadataLocation"] == table.metadata_location
    assert result.details["formatVersion"] == 2


def test_no_data_file_or_manifest_is_read(moto_endpoint: str, s3_bucket: str, catalog: Any) -> None:
    # Given a table whose data files and manifests are gone: only the metadata json files are left
    table = orders_table(catalog)
    client = s3(moto_endpoint)
    for obj in client.list_objects_v2(Bucket=s3_bucket, Prefix="warehouse/")["Contents"]:
        if not obj["Key"].endswith(".metadata.json"):
            client.delete_object(Bucket=s3_bucket, Key=obj["Key"])

    discovered = discover_schema(target("iceberg", table.location()), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert discovered.tables[0].estimated_rows == 3  # the snapshot summary's total-records


def test_a_schema_change_is_seen_in_the_next_discovery(moto_endpoint: str, catalog: Any) -> None:
    from pyiceberg.types import StringType

    table = orders_table(catalog)
    path = target("iceberg", table.location())
    before = discover_schema(path, KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    with table.update_schema() as update:
        update.add_column("channel", StringType(), doc="where the order came from")
    after = discover_schema(path, KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert [c.name for c in before.tables[0].columns] == ["order_id", "customer", "total", "placed_at"]
    assert [c.name for c in after.tables[0].columns] == ["order_id", "customer", "total", "placed_at", "channel"]
    assert after.details["schemaId"] == before.details["schemaId"] + 1


def test_the_version_hint_names_the_metadata_file(moto_endpoint: str, s3_bucket: str, catalog: Any) -> None:
    # Given a table with three metadata files (create, append, append) and a file-system table's version hint
    # naming v1.metadata.json, a copy of the first (the empty table) that a listing would not pick
    table = orders_table(catalog)
    table.append(table.scan().to_arrow())
    client = s3(moto_endpoint)
    prefix = table.location().removeprefix(f"s3://{s3_bucket}/") + "/metadata/"
    keys = sorted(
        o["Key"]
        for o in client.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]
        if o["Key"].endswith("json")
    )
    assert len(keys) == 3
    client.copy_object(
        Bucket=s3_bucket, Key=f"{prefix}v1.metadata.json", CopySource={"Bucket": s3_bucket, "Key": keys[0]}
    )
    client.put_object(Bucket=s3_bucket, Key=f"{prefix}version-hint.text", Body=b"1\n")

    hinted = discover_schema(target("iceberg", table.location()), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)
    # And a hint naming a file that is not there falls back to the listing
    client.put_object(Bucket=s3_bucket, Key=f"{prefix}version-hint.text", Body=b"9")
    listed = discover_schema(target("iceberg", table.location()), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert (hinted.details["foundBy"], hinted.tables[0].estimated_rows) == ("version-hint", 0)
    assert hinted.details["metadataLocation"] == f"s3://{s3_bucket}/{prefix}v1.metadata.json"
    assert (listed.details["foundBy"], listed.tables[0].estimated_rows) == ("listing", 6)
    assert listed.details["metadataLocation"] == f"s3://{s3_bucket}/{keys[2]}"


def test_a_metadata_file_can_be_named_directly_even_gzipped(moto_endpoint: str, s3_bucket: str, catalog: Any) -> None:
    table = orders_table(catalog)
    client = s3(moto_endpoint)
    key = table.metadata_location.removeprefix(f"s3://{s3_bucket}/")
    body = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    gz_key = key.rsplit("/", 1)[0] + "/00007-copy.gz.metadata.json"
    client.put_object(Bucket=s3_bucket, Key=gz_key, Body=gzip.compress(body))

    direct = discover_schema(target("iceberg", key, s3_bucket), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)
    gzipped = discover_schema(
        target("iceberg", f"s3://{s3_bucket}/{gz_key}"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert direct.tables[0].name == gzipped.tables[0].name == "orders"
    assert direct.tables[0].columns == gzipped.tables[0].columns
    assert gzipped.tables[0].estimated_rows == 3


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"format-version": 2, "table-uuid": "nope"}', b"[1, 2]", gzip.compress(b"{}")[:-4]]
)
def test_corrupt_metadata_is_a_protocol_error(moto_endpoint: str, s3_bucket: str, catalog: Any, body: bytes) -> None:
    # Given a table whose newest metadata file is not Iceberg metadata
    table = orders_table(catalog)
    prefix = table.location().removeprefix(f"s3://{s3_bucket}/")
    s3(moto_endpoint).put_object(Bucket=s3_bucket, Key=f"{prefix}/metadata/00099-bad.metadata.json", Body=body)

    result = check_connection(target("iceberg", table.location()), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.error_code == "PROTOCOL_ERROR", result.error
    assert "00099-bad.metadata.json is not valid" in (result.error or "")


def test_a_missing_table_or_bucket_is_not_found(moto_endpoint: str, s3_bucket: str) -> None:
    no_table = check_connection(
        target("iceberg", f"s3://{s3_bucket}/warehouse/sales/nothing"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )
    no_bucket = check_connection(
        target("iceberg", "s3://no-such-bucket-here/t"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )
    no_file = check_connection(
        target("iceberg", f"s3://{s3_bucket}/t/metadata/v3.metadata.json"),
        KEYS,
        LOOPBACK,
        aws_endpoint_url=moto_endpoint,
    )

    assert no_table.error_code == no_bucket.error_code == no_file.error_code == "NOT_FOUND"
    assert "no Iceberg metadata file" in (no_table.error or "")


def test_a_path_that_names_no_bucket_is_invalid_config() -> None:
    result = check_connection(target("iceberg", "warehouse/sales/orders"), KEYS, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


# --- Deadlines and unreachable endpoints ------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "path"), [("excel", "s3://books/q1.xlsx"), ("iceberg", "s3://lake/sales/orders")]
)
def test_a_silent_s3_endpoint_times_out_within_the_deadline(silent_server: int, type_name: str, path: str) -> None:
    endpoint = f"http://127.0.0.1:{silent_server}"
    started = time.monotonic()
    tested = check_connection(target(type_name, path, connection_timeout=2), KEYS, LOOPBACK, aws_endpoint_url=endpoint)
    tested_in = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        discover_schema(target(type_name, path), KEYS, LOOPBACK, deadline_seconds=2, aws_endpoint_url=endpoint)
    discovered_in = time.monotonic() - started

    assert (tested.error_code, caught.value.code) == ("TIMEOUT", "TIMEOUT")
    # One attempt of at most the 2 s budget, not a retry after it (two would take 4 s or more): one attempt in all
    assert tested_in < 3.9 and discovered_in < 3.9, (tested_in, discovered_in)


@pytest.mark.server  # it opens a (refused) connection
@pytest.mark.parametrize(
    ("type_name", "path"), [("excel", "s3://books/q1.xlsx"), ("iceberg", "s3://lake/sales/orders")]
)
def test_a_closed_s3_endpoint_is_unreachable(type_name: str, path: str) -> None:
    result = check_connection(
        target(type_name, path, connection_timeout=2),
        KEYS,
        LOOPBACK,
        aws_endpoint_url=f"http://127.0.0.1:{free_port()}",
    )

    assert result.error_code == "UNREACHABLE", result.error


# --- Opt-in: real AWS S3 --------------------------------------------------------------------------
# DS_LIVE_S3_EXCEL=s3://bucket/book.xlsx and/or DS_LIVE_S3_ICEBERG=s3://bucket/path/to/table, with DS_LIVE_S3_ACCESS_KEY_ID,
# DS_LIVE_S3_SECRET_ACCESS_KEY and DS_LIVE_S3_REGION: the same connectors against AWS itself. Skipped when unset.


@pytest.mark.server
@pytest.mark.parametrize(("type_name", "variable"), [("excel", "DS_LIVE_S3_EXCEL"), ("iceberg", "DS_LIVE_S3_ICEBERG")])
def test_live_s3(type_name: str, variable: str) -> None:
    import os

    path = os.environ.get(variable)
    if not path or not os.environ.get("DS_LIVE_S3_ACCESS_KEY_ID"):
        pytest.skip(f"opt-in: set {variable} and DS_LIVE_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY/REGION to run against AWS")
    keys = {
        "access_key_id": os.environ["DS_LIVE_S3_ACCESS_KEY_ID"],
        "secret_access_key": os.environ.get("DS_LIVE_S3_SECRET_ACCESS_KEY", ""),
    }
    live = target(type_name, path, region=os.environ.get("DS_LIVE_S3_REGION") or None)

    tested = check_connection(live, keys, LOOPBACK)
    discovered = discover_schema(live, keys, LOOPBACK)

    assert tested.success, tested.error
    assert discovered.tables and all(t.columns for t in discovered.tables)
