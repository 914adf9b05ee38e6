"""Opt-in: a real Delta Lake and a real Hudi table on AWS S3, tested and discovered with the connectors as deployed
(AWS's own endpoint, https). Run only when the environment names them (the variables test_excel_iceberg's live test
reads, with one path per format); skipped otherwise, never faked:

    DS_LIVE_S3_ACCESS_KEY_ID, DS_LIVE_S3_SECRET_ACCESS_KEY   keys that may read the tables
    DS_LIVE_S3_REGION                                     the buckets' region (default us-east-1)
    DS_LIVE_S3_DELTA                                      s3://bucket/path/to/a/delta/table
    DS_LIVE_S3_HUDI                                       s3://bucket/path/to/a/hudi/table
"""

from __future__ import annotations

import os

import pytest

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection, discover_schema

PATHS = {"delta_lake": "DS_LIVE_S3_DELTA", "hudi": "DS_LIVE_S3_HUDI"}


@pytest.mark.server
@pytest.mark.parametrize("type_name", sorted(PATHS))
def test_a_live_table_on_aws_is_tested_and_discovered(type_name: str) -> None:
    path = os.environ.get(PATHS[type_name])
    key, secret = os.environ.get("DS_LIVE_S3_ACCESS_KEY_ID"), os.environ.get("DS_LIVE_S3_SECRET_ACCESS_KEY")
    if not (path and key and secret):
        pytest.skip(f"opt-in: set {PATHS[type_name]} and DS_LIVE_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY/REGION")
    target = ConnectionTarget(type=type_name, file_path=path, region=os.environ.get("DS_LIVE_S3_REGION") or "us-east-1")
    credentials = {"access_key_id": key, "secret_access_key": secret}
    policy = NetworkPolicy.from_string("")

    result = check_connection(target, credentials, policy, deadline_seconds=30)
    discovered = discover_schema(target, credentials, policy, deadline_seconds=60)

    assert result.success, result.error
    assert discovered.tables and discovered.tables[0].columns
    assert secret not in repr(result.to_dict()) + repr(discovered.to_dict())
