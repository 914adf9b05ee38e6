"""Delta Lake and Apache Hudi tables on S3 (moto server): real tables, written with deltalake and laid out as Hudi's
writers lay them out (read back by hudi-rs itself), discovered from their logs and timelines only."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import boto3
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from datasource_registry.connectors import ConnectionTarget, check_connection, discover_schema
from devserver.hudi_writer import HudiTable

from .conftest import LOOPBACK, JsonHandler

KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}
ORDERS = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["a", "b", None], pa.string()),
        "day": pa.array(["2024-01-01", "2024-01-02", "2024-01-01"], pa.string()),
    }
)


def s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def options(endpoint: str) -> dict[str, str]:
    return {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint,
        "aws_allow_http": "true",
    }


def target(type_name: str, path: str, **kwargs: Any) -> ConnectionTarget:
    return ConnectionTarget(type=type_name, file_path=path, **kwargs)


def keys_under(endpoint: str, bucket: str, prefix: str) -> list[str]:
    listing = s3(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


# --- Delta Lake -----------------------------------------------------------------------------------


@pytest.fixture
def delta_table(moto_endpoint: str, s3_bucket: str) -> str:
    uri = f"s3://{s3_bucket}/lake/orders"
    write_deltalake(uri, ORDERS, partition_by=["day"], storage_options=options(moto_endpoint))
    write_deltalake(uri, ORDERS.slice(0, 1), mode="append", storage_options=options(moto_endpoint))
    return uri


def test_a_delta_table_is_found_by_its_log(moto_endpoint: str, delta_table: str) -> None:
    result = check_connection(target("delta_lake", delta_table), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "metadata"]
    assert result.details["version"] == 1
    assert result.server_version == "Delta table version 1"


def test_delta_discovery_reads_schema_partitions_and_row_stats_from_the_log_alone(
    moto_endpoint: str, s3_bucket: str, delta_table: str
) -> None:
    for key in keys_under(moto_endpoint, s3_bucket, "lake/orders/"):
        if key.endswith(".parquet") and "_delta_log" not in key:  # no data file is needed, so none is left
            s3(moto_endpoint).delete_object(Bucket=s3_bucket, Key=key)

    discovered = discover_schema(target("delta_lake", delta_table), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    [table] = discovered.tables
    assert (table.schema, table.name) == (s3_bucket, "orders")
    assert [(c.name, c.type, c.nullable) for c in table.columns] == [
        ("id", "long", True),
        ("name", "string", True),
        ("day", "string", True),
    ]
    assert table.estimated_rows == 4  # 3 + 1, summed from the add actions' numRecords
    assert discovered.details["partitionColumns"] == ["day"]
    assert discovered.details["version"] == 1


def test_a_delta_column_added_by_the_library_shows_in_a_new_version(moto_endpoint: str, delta_table: str) -> None:
    more = ORDERS.slice(0, 1).append_column("amount", pa.array([9.5], pa.float64()))
    write_deltalake(delta_table, more, mode="append", schema_mode="merge", storage_options=options(moto_endpoint))

    discovered = discover_schema(target("delta_lake", delta_table), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert [(c.name, c.type) for c in discovered.tables[0].columns][-1] == ("amount", "double")
    assert discovered.details["version"] == 2


def test_no_delta_table_at_the_path_is_not_found(moto_endpoint: str, s3_bucket: str) -> None:
    result = check_connection(
        target("delta_lake", f"s3://{s3_bucket}/nothing/here"),
        {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"},
        LOOPBACK,
        aws_endpoint_url=moto_endpoint,
    )

    assert result.error_code == "NOT_FOUND", result.error
    assert "wJalrXUtnFEMI" not in repr(result.to_dict())


def test_a_missing_bucket_is_not_found(moto_endpoint: str) -> None:
    result = check_connection(
        target("delta_lake", "s3://no-such-bucket-for-lake/t"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert result.error_code == "NOT_FOUND", result.error


def test_a_corrupt_delta_log_is_a_protocol_error(moto_endpoint: str, s3_bucket: str) -> None:
    s3(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="broken/_delta_log/00000000000000000000.json", Body=b'{"protocol": {not json'
    )

    result = check_connection(
        target("delta_lake", f"s3://{s3_bucket}/broken"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert result.error_code == "PROTOCOL_ERROR", result.error
    with pytest.raises(Exception) as raised:
        discover_schema(
            target("delta_lake", f"s3://{s3_bucket}/broken"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
        )
    assert getattr(raised.value, "code", None) == "PROTOCOL_ERROR"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "filePath"),
        ("http://169.254.169.254/latest/t", "s3://bucket"),
        ("https://evil.example.com/bucket/t", "AWS S3"),
        ("s3://Bad_Bucket/t", "bucket"),
        ("s3://bucket-only", "folder"),
        ("s3://bucket/a/../b", "folder"),
    ],
)
def test_a_location_that_is_not_a_table_on_s3_is_invalid(moto_endpoint: str, path: str, fragment: str) -> None:
    for type_name in ("delta_lake", "hudi"):
        result = check_connection(target(type_name, path), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

        assert result.error_code == "INVALID_CONFIG", (type_name, result.error)
        assert fragment in (result.error or "")


def test_a_region_that_is_not_a_region_is_refused_before_it_becomes_a_host(moto_endpoint: str) -> None:
    result = check_connection(
        target("delta_lake", "s3://bucket/t", region="evil.example.com#"), KEYS, LOOPBACK, aws_endpoint_url=None
    )

    assert result.error_code == "INVALID_CONFIG", result.error


@pytest.mark.server  # a local listener, reached by the Rust clients (the pure tier's socket guard sees Python's only)
@pytest.mark.parametrize("type_name", ["delta_lake", "hudi"])
def test_a_silent_s3_times_out_within_the_deadline(silent_server: int, type_name: str) -> None:
    started = time.monotonic()

    result = check_connection(
        target(type_name, "s3://bucket/t", connection_timeout=2),
        KEYS,
        LOOPBACK,
        aws_endpoint_url=f"http://127.0.0.1:{silent_server}",
    )

    assert result.error_code == "TIMEOUT", result.error
    assert time.monotonic() - started < 4.5


@pytest.mark.server  # a closed loopback port, reached by the Rust clients
@pytest.mark.parametrize(("type_name", "within"), [("delta_lake", 2.0), ("hudi", 2.0)])
def test_a_closed_endpoint_is_unreachable_within_the_deadline(type_name: str, within: float) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    started = time.monotonic()

    result = check_connection(
        target(type_name, "s3://bucket/t", connection_timeout=8), KEYS, LOOPBACK, aws_endpoint_url=closed
    )

    assert result.error_code == "UNREACHABLE", result.error
    assert time.monotonic() - started < within


@pytest.fixture
def recording_endpoint() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.server  # a local listener, as above
@pytest.mark.parametrize("type_name", ["delta_lake", "hudi"])
def test_the_sources_keys_never_travel_with_a_token_from_the_environment(
    recording_endpoint: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch, type_name: str
) -> None:
    endpoint, seen = recording_endpoint
    monkeypatch.setenv("AWS_SESSION_TOKEN", "role-token-from-the-environment")

    result = check_connection(target(type_name, "s3://bucket/t"), KEYS, LOOPBACK, aws_endpoint_url=endpoint)

    assert result.error_code == "NOT_FOUND", result.error
    assert seen, "the library sent no request"
    assert all("x-amz-security-token" not in headers for headers in seen), seen
    assert os.environ["AWS_SESSION_TOKEN"] == "role-token-from-the-environment"  # put back after the call


# --- Apache Hudi ----------------------------------------------------------------------------------

TRIPS = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "city": pa.array(["sf", "sf", "nyc"], pa.string()),
        "fare": pa.array([1.5, 2.0, 3.0], pa.float64()),
    }
)


@pytest.fixture
def hudi_table(moto_endpoint: str, s3_bucket: str) -> HudiTable:
    table = HudiTable(s3(moto_endpoint), s3_bucket, "lake/trips", "trips", "id", "city").create()
    table.commit(TRIPS, "20250101000000000")
    return table


def test_the_hudi_writer_writes_a_table_hudi_rs_reads_back(moto_endpoint: str, hudi_table: HudiTable) -> None:
    from hudi import HudiTableBuilder

    table = (
        HudiTableBuilder.from_base_uri(f"s3://{hudi_table.bucket}/{hudi_table.path}")
        .with_storage_options(options(moto_endpoint))
        .build()
    )
    rows = pa.Table.from_batches(table.read())

    assert sorted(rows.column("id").to_pylist()) == [1, 2, 3]
    assert set(rows.column("_hoodie_partition_path").to_pylist()) == {"city=sf", "city=nyc"}


def test_a_hudi_table_is_found_by_its_timeline(moto_endpoint: str, hudi_table: HudiTable) -> None:
    uri = f"s3://{hudi_table.bucket}/{hudi_table.path}"

    result = check_connection(target("hudi", uri), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert result.details["tableType"] == "COPY_ON_WRITE"
    assert result.details["latestCommit"] == "20250101000000000"
    assert result.server_version == "Hudi COPY_ON_WRITE table version 6"


def test_hudi_discovery_reads_the_commit_metadata_alone(moto_endpoint: str, hudi_table: HudiTable) -> None:
    for key in keys_under(moto_endpoint, hudi_table.bucket, f"{hudi_table.path}/city="):
        s3(moto_endpoint).delete_object(Bucket=hudi_table.bucket, Key=key)  # no base file is needed

    discovered = discover_schema(
        target("hudi", f"s3://{hudi_table.bucket}/{hudi_table.path}"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    [table] = discovered.tables
    assert table.name == "trips"
    assert [(c.name, c.type) for c in table.columns] == [("id", "int64"), ("city", "string"), ("fare", "double")]
    assert table.primary_key == ["id"]
    assert discovered.details["partitionColumns"] == ["city"]


def test_a_hudi_column_added_by_a_later_commit_is_discovered(moto_endpoint: str, hudi_table: HudiTable) -> None:
    more = TRIPS.slice(0, 1).append_column("tip", pa.array([0.5], pa.float64()))
    hudi_table.commit(more, "20250102000000000")

    discovered = discover_schema(
        target("hudi", f"s3://{hudi_table.bucket}/{hudi_table.path}"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert [c.name for c in discovered.tables[0].columns] == ["id", "city", "fare", "tip"]
    assert discovered.details["latestCommit"] == "20250102000000000"


def test_a_hudi_commit_without_a_schema_is_reported_not_read_from_a_data_file(
    moto_endpoint: str, hudi_table: HudiTable
) -> None:
    key = f"{hudi_table.path}/.hoodie/20250101000000000.commit"
    body = s3(moto_endpoint).get_object(Bucket=hudi_table.bucket, Key=key)["Body"].read()
    s3(moto_endpoint).put_object(
        Bucket=hudi_table.bucket, Key=key, Body=body.replace(b'"extraMetadata"', b'"extraMetadataGone"')
    )

    with pytest.raises(Exception) as raised:
        discover_schema(
            target("hudi", f"s3://{hudi_table.bucket}/{hudi_table.path}"),
            KEYS,
            LOOPBACK,
            aws_endpoint_url=moto_endpoint,
        )

    assert getattr(raised.value, "code", None) == "PROTOCOL_ERROR"
    assert "no schema" in str(raised.value)


def test_no_hudi_table_at_the_path_is_not_found(moto_endpoint: str, s3_bucket: str) -> None:
    result = check_connection(
        target("hudi", f"s3://{s3_bucket}/nothing"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert result.error_code == "NOT_FOUND", result.error


def test_unreadable_hudi_properties_are_a_protocol_error(moto_endpoint: str, s3_bucket: str) -> None:
    s3(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="junk/.hoodie/hoodie.properties", Body=b"hoodie.table.version=banana\n"
    )

    result = check_connection(target("hudi", f"s3://{s3_bucket}/junk"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.error_code == "PROTOCOL_ERROR", result.error


def test_a_hudi_table_version_the_library_cannot_read_is_unsupported(moto_endpoint: str, s3_bucket: str) -> None:
    properties = "hoodie.table.name=old\nhoodie.table.type=COPY_ON_WRITE\nhoodie.table.version=5\n"
    s3(moto_endpoint).put_object(
        Bucket=s3_bucket,
        Key="old/.hoodie/hoodie.properties",
        Body=(properties + "hoodie.timeline.layout.version=1\n").encode(),
    )

    result = check_connection(target("hudi", f"s3://{s3_bucket}/old"), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.error_code == "UNSUPPORTED", result.error
    assert "version" in (result.error or "")


# --- Both formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["delta_lake", "hudi"])
def test_include_and_exclude_apply_to_the_table_as_bucket_dot_name(
    moto_endpoint: str, s3_bucket: str, type_name: str
) -> None:
    if type_name == "delta_lake":
        write_deltalake(f"s3://{s3_bucket}/lake/orders", ORDERS, storage_options=options(moto_endpoint))
        path, name = "lake/orders", "orders"
    else:
        HudiTable(s3(moto_endpoint), s3_bucket, "lake/trips", "trips", "id", "city").create().commit(
            TRIPS, "20250101000000000"
        )
        path, name = "lake/trips", "trips"

    def names(**patterns: tuple[str, ...]) -> list[str]:
        found = discover_schema(
            target(type_name, f"s3://{s3_bucket}/{path}", **patterns), KEYS, LOOPBACK, aws_endpoint_url=moto_endpoint
        )
        return [f"{t.schema}.{t.name}" for t in found.tables]

    assert names(include_patterns=(f"{s3_bucket}.{name}",)) == [f"{s3_bucket}.{name}"]
    assert names(include_patterns=("other.*",)) == []
    assert names(exclude_patterns=(f"*.{name}",)) == []
