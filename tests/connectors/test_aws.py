"""S3 buckets, files on S3 and DynamoDB against a moto server."""

from __future__ import annotations

import io
import json
import os

import boto3
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from datasource_registry.connectors import ConnectionTarget, ConnectorError, check_connection, discover_schema

from .conftest import LOOPBACK, CountingProxy, unique


def put(endpoint: str, bucket: str, key: str, body: bytes) -> None:
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=body)


def parquet_bytes(table: pa.Table, **kwargs: object) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue()


SAMPLE = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", None], "score": [1.5, 2.0, 3.25]})


# --- S3 buckets -----------------------------------------------------------------------------------


def test_an_existing_bucket_is_reachable(moto_endpoint: str, s3_bucket: str) -> None:
    target = ConnectionTarget(type="s3", source_config={"bucket": s3_bucket, "prefix": "raw/"})

    result = check_connection(target, {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "authenticate", "metadata"]
    assert result.details["empty"] is True


def test_a_missing_bucket_is_not_found(moto_endpoint: str) -> None:
    target = ConnectionTarget(type="s3", source_config={"bucket": unique("missing").replace("_", "-")})

    result = check_connection(
        target,
        {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"},
        LOOPBACK,
        aws_endpoint_url=moto_endpoint,
    )

    assert result.error_code == "NOT_FOUND"
    assert "wJalrXUtnFEMI" not in repr(result.to_dict())


def test_s3_discovery_infers_one_table_per_folder(moto_endpoint: str, s3_bucket: str) -> None:
    put(moto_endpoint, s3_bucket, "lake/orders/part-0.parquet", parquet_bytes(SAMPLE))
    put(moto_endpoint, s3_bucket, "lake/orders/part-1.parquet", parquet_bytes(SAMPLE))
    put(moto_endpoint, s3_bucket, "lake/events/2024.csv", b"at,kind\n2024-01-01,click\n")
    put(moto_endpoint, s3_bucket, "lake/readme.txt", b"hello")
    target = ConnectionTarget(type="s3", source_config={"bucket": s3_bucket, "prefix": "lake/"})

    discovered = discover_schema(target, {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    tables = {t.name: t for t in discovered.tables}
    assert set(tables) == {"orders", "events"}
    assert [c.name for c in tables["orders"].columns] == ["id", "name", "score"]
    assert tables["orders"].estimated_rows == 3


# --- files on S3 ----------------------------------------------------------------------------------


def file_target(type_name: str, path: str, bucket: str | None = None) -> ConnectionTarget:
    return ConnectionTarget(type=type_name, file_path=path, source_config={"bucket": bucket} if bucket else {})


def test_csv_schema_is_inferred_from_the_header(moto_endpoint: str, s3_bucket: str) -> None:
    put(
        moto_endpoint,
        s3_bucket,
        "files/people.csv",
        b"id,name,joined,active\n1,Ann,2024-01-02,true\n2,Bo,2024-02-03,false\n",
    )

    discovered = discover_schema(
        file_target("csv", "files/people.csv", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    [table] = discovered.tables
    assert [(c.name, c.type) for c in table.columns] == [
        ("id", "int64"),
        ("name", "string"),
        ("joined", "date32[day]"),
        ("active", "bool"),
    ]


def test_a_large_csv_is_sampled_not_downloaded(moto_endpoint: str, s3_bucket: str) -> None:
    body = b"id,value\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(400_000))
    put(moto_endpoint, s3_bucket, "big.csv", body)

    result = check_connection(
        file_target("csv", f"s3://{s3_bucket}/big.csv"), {}, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert result.success, result.error
    assert result.details["bytesFetched"] <= 64 * 1024 < len(body)


def test_json_lines_and_json_arrays_are_both_understood(moto_endpoint: str, s3_bucket: str) -> None:
    lines = b'{"id": 1, "tags": ["a"], "price": 2.5}\n{"id": 2, "tags": [], "price": null}\n'
    array = json.dumps([{"id": i, "name": f"n{i}", "nested": {"x": i}} for i in range(5000)]).encode()
    put(moto_endpoint, s3_bucket, "a.jsonl", lines)
    put(moto_endpoint, s3_bucket, "b.json", array)

    from_lines = discover_schema(
        file_target("json", "a.jsonl", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint
    )
    from_array = discover_schema(file_target("json", "b.json", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert [(c.name, c.type) for c in from_lines.tables[0].columns] == [
        ("id", "int64"),
        ("tags", "list<item: string>"),
        ("price", "double"),
    ]
    assert [c.name for c in from_array.tables[0].columns] == ["id", "name", "nested"]
    assert from_array.tables[0].columns[2].type.startswith("struct<")
    assert from_array.details["bytesFetched"] < len(array)  # the array was cut at 64 KiB and still parsed


def test_orc_schema_and_row_count_come_from_the_footer(moto_endpoint: str, s3_bucket: str) -> None:
    sink = io.BytesIO()
    orc.write_table(SAMPLE, sink)
    put(moto_endpoint, s3_bucket, "t.orc", sink.getvalue())

    discovered = discover_schema(file_target("orc", "t.orc", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert [c.name for c in discovered.tables[0].columns] == ["id", "name", "score"]
    assert discovered.tables[0].estimated_rows == 3


def test_a_large_parquet_file_is_not_downloaded_whole(
    moto_endpoint: str, s3_bucket: str, counting_proxy: CountingProxy
) -> None:
    # Given a ~40 MB parquet file of incompressible data
    rows = 500_000

    def random_column() -> pa.Array:
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), rows, [None, pa.py_buffer(os.urandom(8 * rows))])

    big = pa.table({f"c{i}": random_column() for i in range(10)})
    body = parquet_bytes(big, compression="none")
    assert len(body) > 30_000_000
    put(moto_endpoint, s3_bucket, "big.parquet", body)
    before = counting_proxy.bytes_to_client

    # When its schema is discovered through a proxy that counts every byte moto sends
    discovered = discover_schema(
        file_target("parquet", f"s3://{s3_bucket}/big.parquet"),
        {},
        LOOPBACK,
        aws_endpoint_url=counting_proxy.url,
    )

    # Then the schema and row count are right and well under 1 MB crossed the wire
    sent = counting_proxy.bytes_to_client - before
    assert [c.name for c in discovered.tables[0].columns] == [f"c{i}" for i in range(10)]
    assert discovered.tables[0].estimated_rows == 500_000
    assert sent < 1_000_000, f"{sent} bytes fetched for a {len(body)} byte file"


def test_a_missing_file_is_not_found(moto_endpoint: str, s3_bucket: str) -> None:
    result = check_connection(
        file_target("parquet", "nope.parquet", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint
    )

    assert result.error_code == "NOT_FOUND"
    assert result.stages[-1].name == "authenticate"


def test_a_file_that_is_not_what_it_claims_is_a_protocol_error(moto_endpoint: str, s3_bucket: str) -> None:
    put(moto_endpoint, s3_bucket, "fake.parquet", b"this is not parquet at all" * 10)

    with pytest.raises(ConnectorError) as caught:
        discover_schema(file_target("parquet", "fake.parquet", s3_bucket), {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert caught.value.code == "PROTOCOL_ERROR"


def test_a_file_path_without_a_bucket_is_invalid_config() -> None:
    result = check_connection(file_target("csv", "organizations/1/files/1/file.csv"), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


# --- DynamoDB -------------------------------------------------------------------------------------


@pytest.fixture
def dynamodb_table(moto_endpoint: str):
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = unique("orders")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "email", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    client.delete_table(TableName=name)


def test_dynamodb_table_is_described(moto_endpoint: str, dynamodb_table: str) -> None:
    target = ConnectionTarget(type="dynamodb", region="us-east-1", source_config={"table_name": dynamodb_table})

    result = check_connection(target, {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    assert result.success, result.error
    assert result.details["status"] == "ACTIVE"


def test_dynamodb_missing_table_is_not_found(moto_endpoint: str) -> None:
    target = ConnectionTarget(type="dynamodb", region="us-east-1", source_config={"table_name": "does-not-exist"})

    assert check_connection(target, {}, LOOPBACK, aws_endpoint_url=moto_endpoint).error_code == "NOT_FOUND"


def test_dynamodb_discovery_lists_keys_and_attributes(moto_endpoint: str, dynamodb_table: str) -> None:
    target = ConnectionTarget(type="dynamodb", region="us-east-1", include_patterns=[f"us-east-1.{dynamodb_table}"])

    discovered = discover_schema(target, {}, LOOPBACK, aws_endpoint_url=moto_endpoint)

    [table] = discovered.tables
    assert table.primary_key == ["pk", "sk"]
    assert [(c.name, c.type, c.nullable) for c in table.columns] == [
        ("pk", "string", False),
        ("sk", "number", False),
        ("email", "string", True),
    ]
