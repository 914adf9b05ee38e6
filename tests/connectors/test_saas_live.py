"""Opt-in live tests against the real Snowflake, BigQuery and Salesforce: each runs only when its DS_LIVE_*
variables are set (README "Connections"), and is skipped, saying which, otherwise. Public endpoints: the policy
opens no private network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection, discover_schema

pytestmark = pytest.mark.server
PUBLIC_ONLY = NetworkPolicy.from_string("")


def _env(*names: str) -> dict[str, str]:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"live test: set {', '.join(missing)} to run it")
    return {n: os.environ[n] for n in names}


def _text(value: str) -> str:
    """A PEM or JSON given inline or as a file path."""
    path = Path(value)
    return path.read_text() if len(value) < 4096 and path.is_file() else value


def test_live_snowflake() -> None:
    env = _env("DS_LIVE_SNOWFLAKE_HOST", "DS_LIVE_SNOWFLAKE_DATABASE")
    config: dict[str, str] = {}
    credentials: dict[str, str] = {}
    if os.environ.get("DS_LIVE_SNOWFLAKE_PRIVATE_KEY"):
        config["privateKey"] = _text(os.environ["DS_LIVE_SNOWFLAKE_PRIVATE_KEY"])
        if os.environ.get("DS_LIVE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
            config["privateKeyPassphrase"] = os.environ["DS_LIVE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]
        credentials["username"] = _env("DS_LIVE_SNOWFLAKE_USER")["DS_LIVE_SNOWFLAKE_USER"]
    elif os.environ.get("DS_LIVE_SNOWFLAKE_OAUTH_TOKEN"):
        credentials["oauth_token"] = os.environ["DS_LIVE_SNOWFLAKE_OAUTH_TOKEN"]
    else:
        credentials["password"] = _env("DS_LIVE_SNOWFLAKE_PAT")["DS_LIVE_SNOWFLAKE_PAT"]
    target = ConnectionTarget(
        type="snowflake",
        host=env["DS_LIVE_SNOWFLAKE_HOST"],
        database_name=env["DS_LIVE_SNOWFLAKE_DATABASE"],
        schema_name=os.environ.get("DS_LIVE_SNOWFLAKE_SCHEMA") or None,
        warehouse=os.environ.get("DS_LIVE_SNOWFLAKE_WAREHOUSE") or None,
        role=os.environ.get("DS_LIVE_SNOWFLAKE_ROLE") or None,
        source_config=config,
        connection_timeout=30,
    )
    result = check_connection(target, credentials, PUBLIC_ONLY)
    assert result.success is True, result.error
    assert (result.server_version or "").startswith("Snowflake ")
    schema = discover_schema(target, credentials, PUBLIC_ONLY, deadline_seconds=120)
    assert all(t.columns for t in schema.tables if t.kind == "table")


def test_live_bigquery() -> None:
    env = _env("DS_LIVE_BIGQUERY_SERVICE_ACCOUNT")
    config = {"serviceAccountJson": _text(env["DS_LIVE_BIGQUERY_SERVICE_ACCOUNT"])}
    for name, key in (("DS_LIVE_BIGQUERY_PROJECT", "projectId"), ("DS_LIVE_BIGQUERY_DATASET", "dataset")):
        if os.environ.get(name):
            config[key] = os.environ[name]
    target = ConnectionTarget(type="bigquery", source_config=config, connection_timeout=30)
    result = check_connection(target, {}, PUBLIC_ONLY)
    assert result.success is True, result.error
    discover_schema(target, {}, PUBLIC_ONLY, deadline_seconds=120)


def test_live_salesforce() -> None:
    env = _env("DS_LIVE_SALESFORCE_CLIENT_ID")
    config = {"clientId": env["DS_LIVE_SALESFORCE_CLIENT_ID"]}
    credentials: dict[str, str] = {}
    for name, key in (
        ("DS_LIVE_SALESFORCE_INSTANCE_URL", "instanceUrl"),
        ("DS_LIVE_SALESFORCE_LOGIN_URL", "loginUrl"),
        ("DS_LIVE_SALESFORCE_CLIENT_SECRET", "clientSecret"),
        ("DS_LIVE_SALESFORCE_REFRESH_TOKEN", "refreshToken"),
    ):
        if os.environ.get(name):
            config[key] = os.environ[name]
    if os.environ.get("DS_LIVE_SALESFORCE_PRIVATE_KEY"):
        config["privateKey"] = _text(os.environ["DS_LIVE_SALESFORCE_PRIVATE_KEY"])
        credentials["username"] = _env("DS_LIVE_SALESFORCE_USERNAME")["DS_LIVE_SALESFORCE_USERNAME"]
    target = ConnectionTarget(
        type="salesforce", source_config=config, connection_timeout=30, include_patterns=("salesforce.Account",)
    )
    result = check_connection(target, credentials, PUBLIC_ONLY)
    assert result.success is True, result.error
    schema = discover_schema(target, credentials, PUBLIC_ONLY, deadline_seconds=120)
    assert [t.name for t in schema.tables] == ["Account"] and schema.tables[0].primary_key == ["Id"]
