"""What the Rust table-format libraries are given (connectors/lake.py): where they may connect, with which keys."""

from __future__ import annotations

import pytest

from datasource_registry.connectors import ConnectionTarget, ConnectorError, NetworkPolicy
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.lake import classify, one_table, storage_options, table_location
from datasource_registry.discovered import Column

KEYS = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "example-secret"}


def context(path: str = "s3://orders-bucket/warehouse/orders", endpoint: str | None = None, **kwargs) -> Context:
    target = ConnectionTarget(type="delta_lake", file_path=path, **kwargs)
    return Context.create(
        target,
        KEYS,
        NetworkPolicy.from_string(""),
        10.0,
        endpoint,
        whole_call_is_connect=False,
    )


def test_aws_is_reached_on_the_buckets_own_https_host_with_the_sources_keys_only():
    options = storage_options(context(region="eu-west-1"), "orders-bucket", 7.5)

    assert options == {
        "aws_access_key_id": "AKIAEXAMPLE",
        "aws_secret_access_key": "example-secret",
        "aws_region": "eu-west-1",
        "timeout": "7s",
        "connect_timeout": "7s",
        "aws_endpoint_url": "https://orders-bucket.s3.eu-west-1.amazonaws.com",
        "aws_virtual_hosted_style_request": "true",
        "aws_allow_http": "false",
    }


def test_a_dotted_bucket_goes_in_the_path_of_the_regions_endpoint():
    options = storage_options(context("s3://orders.example/t"), "orders.example", 5)

    assert (options["aws_endpoint_url"], options["aws_virtual_hosted_style_request"]) == (
        "https://s3.us-east-1.amazonaws.com",
        "false",
    )


def test_plain_http_is_allowed_for_the_deployments_own_endpoint_alone():
    local = storage_options(context(endpoint="http://127.0.0.1:5000"), "orders-bucket", 5)

    assert local["aws_endpoint_url"] == "http://127.0.0.1:5000"
    assert (local["aws_allow_http"], local["aws_virtual_hosted_style_request"]) == ("true", "false")


def test_a_session_token_is_sent_only_when_the_source_has_one():
    without = storage_options(context(), "b-1", 5)
    target = ConnectionTarget(type="hudi", file_path="s3://b-1/t")
    ctx = Context.create(
        target, {**KEYS, "session_token": "tok"}, NetworkPolicy.from_string(""), 10.0, None, whole_call_is_connect=False
    )

    assert "aws_session_token" not in without
    assert storage_options(ctx, "b-1", 5)["aws_session_token"] == "tok"


def test_without_keys_or_a_role_there_is_no_call(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    target = ConnectionTarget(type="delta_lake", file_path="s3://b-1/t")
    ctx = Context.create(target, {}, NetworkPolicy.from_string(""), 10.0, None, whole_call_is_connect=False)

    with pytest.raises(ConnectorError) as raised:
        storage_options(ctx, "b-1", 5)

    assert raised.value.code == "AUTH_FAILED"


@pytest.mark.parametrize(
    ("path", "bucket", "key"),
    [
        ("s3://orders-bucket/warehouse/orders/", "orders-bucket", "warehouse/orders"),
        ("https://s3.eu-west-1.amazonaws.com/orders-bucket/t", "orders-bucket", "t"),
        ("https://orders-bucket.s3.eu-west-1.amazonaws.com/a/t", "orders-bucket", "a/t"),
    ],
)
def test_a_table_is_named_by_an_s3_url(path: str, bucket: str, key: str):
    assert table_location(context(path)) == (bucket, key)


def test_a_path_in_the_configured_bucket_is_a_table_too():
    target = ConnectionTarget(type="hudi", file_path="warehouse/trips", source_config={"bucket": "lake-bucket"})
    ctx = Context.create(target, KEYS, NetworkPolicy.from_string(""), 10.0, None, whole_call_is_connect=False)

    assert table_location(ctx) == ("lake-bucket", "warehouse/trips")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Generic S3 error: 403 Forbidden <Code>AccessDenied</Code>", "PERMISSION_DENIED"),
        ("Server returned non-2xx status code: 401 Unauthorized", "AUTH_FAILED"),
        ("<Code>InvalidAccessKeyId</Code>", "AUTH_FAILED"),
        ("error sending request: operation timed out", "TIMEOUT"),
        ("error sending request: Connection refused (os error 111)", "UNREACHABLE"),
        ("Generic delta kernel error: No files in log segment", "NOT_FOUND"),
        ("404 Not Found <Code>NoSuchBucket</Code> in 4.0312ms", "NOT_FOUND"),
        ("Config error: Config 'hoodie.table.name' not found", "PROTOCOL_ERROR"),
        ("Kernel error: Json error: Encountered unexpected 'o'", "PROTOCOL_ERROR"),
        ("Unsupported: Only support table version 6, 8, and 9. Found: 5", "UNSUPPORTED"),
        ("something no one foresaw", "PROTOCOL_ERROR"),
    ],
)
def test_library_errors_get_stable_codes_never_unexpected(text: str, code: str):
    assert classify(OSError(text)) == code


def test_only_record_key_fields_that_are_columns_make_the_primary_key():
    # A Hudi record key may name a field the schema dropped (or a nested path): a key of a column that does not
    # exist would be a dangling reference in the snapshot and a bogus "key changed" in its diff
    columns = [Column("id", "int64", False, None, 1), Column("region", "string", True, None, 2)]

    schema = one_table(
        context(),
        "orders-bucket",
        "warehouse/orders",
        "orders",
        columns,
        no_columns="-",
        key=["id", "gone", "payload.id", "region"],
    )

    (table,) = schema.tables
    assert table.primary_key == ["id", "region"]
