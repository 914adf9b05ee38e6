"""Opt-in: a real Delta Lake and a real Hudi table on AWS S3, tested and discovered with the connectors as deployed
(AWS's own endpoint, https). Run only when the environment names them; skipped otherwise, never faked:

    DS_LIVE_AWS_ACCESS_KEY_ID, DS_LIVE_AWS_SECRET_ACCESS_KEY   keys that may read the tables
    DS_LIVE_AWS_REGION                                         the buckets' region (default us-east-1)
    DS_LIVE_DELTA_PATH                                         s3://bucket/path/to/a/delta/table
    DS_LIVE_HUDI_PATH                                          s3://bucket/path/to/a/hudi/table
"""

from __future__ import annotations

import os

import pytest

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection, discover_schema

PATHS = {"delta_lake": "DS_LIVE_DELTA_PATH", "hudi": "DS_LIVE_HUDI_PATH"}


@pytest.mark.parametrize("type_name", sorted(PATHS))
def test_a_live_table_on_aws_is_tested_and_discovered(type_name: str) -> None:
    path = os.environ.get(PATHS[type_name])
    key, secret = os.environ.get("DS_LIVE_AWS_ACCESS_KEY_ID"), os.environ.get("DS_LIVE_AWS_SECRET_ACCESS_KEY")
    if not (path and key and secret):
        pytest.skip(f"live test: set {PATHS[type_name]}, DS_LIVE_AWS_ACCESS_KEY_ID and DS_LIVE_AWS_SECRET_ACCESS_KEY")
    target = ConnectionTarget(type=type_name, file_path=path, region=os.environ.get("DS_LIVE_AWS_REGION", "us-east-1"))
    credentials = {"access_key_id": key, "secret_access_key": secret}
    policy = NetworkPolicy.from_string("")

    result = check_connection(target, credentials, policy, deadline_seconds=30)
    discovered = discover_schema(target, credentials, policy, deadline_seconds=60)

    assert result.success, result.error
    assert discovered.tables and discovered.tables[0].columns
    assert secret not in repr(result.to_dict()) + repr(discovered.to_dict())
