"""000's S3 `url` read as bucket, prefix and region; anything but AWS S3 refused with a reason (no request is made)."""

from __future__ import annotations

import pytest

from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.s3 import location_of


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://orders/raw/2026", ("orders", "raw/2026", None)),
        ("https://s3.eu-west-1.amazonaws.com/orders", ("orders", "", "eu-west-1")),
        ("https://s3.amazonaws.com/orders/x/y", ("orders", "x/y", None)),
        ("https://orders.s3.eu-west-1.amazonaws.com/p", ("orders", "p", "eu-west-1")),
        ("https://s3-us-west-2.amazonaws.com/b/p%20q", ("b", "p q", "us-west-2")),
        ("https://s3.dualstack.ap-southeast-2.amazonaws.com/b", ("b", "", "ap-southeast-2")),
        ("https://my.bucket.s3.amazonaws.com/", ("my.bucket", "", None)),
    ],
)
def test_aws_s3_urls_name_their_bucket_prefix_and_region(url, expected):
    assert location_of(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "s3-endpoint-url",  # 000's placeholder, as written
        "http://s3.amazonaws.com/orders",  # not TLS
        "https://minio.internal/orders",  # an S3-compatible store
        "https://evil.example/s3.amazonaws.com/orders",
        "https://s3.amazonaws.com.evil.example/orders",
        "https://s3.eu-west-1.amazonaws.com/",  # no bucket
    ],
)
def test_other_urls_are_invalid_config(url):
    with pytest.raises(ConnectorError) as refused:
        location_of(url)
    assert refused.value.code is ErrorCode.INVALID_CONFIG


def test_000s_setting_names_reach_the_connectors_under_their_names():
    from datasource_registry.domain.model import DataSource, DataSourceSpec
    from datasource_registry.domain.schema_service import credentials_for

    spec = DataSourceSpec.model_validate(
        {
            "name": "S3",
            "type": "s3",
            "secretRefs": {"access_key": "S3_ACCESS_KEY", "access_secret": "S3_SECRET_KEY", "user": "DB_USER"},
        }
    )
    source = DataSource.model_construct(spec=spec)

    resolved = credentials_for(source, {"S3_ACCESS_KEY": "AK", "S3_SECRET_KEY": "SK", "DB_USER": "u"})

    assert (resolved["access_key_id"], resolved["secret_access_key"], resolved["username"]) == ("AK", "SK", "u")
