"""Snowflake (SQL API v2), BigQuery (REST v2) and Salesforce (REST) against a local HTTPS server answering as each
engine documents (tests/saas_servers.py), and the network guards against real local listeners.

Each test runs in process and through the kv-http runner out of process (THROUGH_RUNNERS): the server's CA goes
in `sourceConfig.caCertificate`, as a private endpoint's would, and "localhost" is reachable only because the
policy allows 127.0.0.0/8.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectorError,
    NetworkPolicy,
    check_connection,
    discover_schema,
)
from tests import saas_servers
from tests.saas_servers import SaasServer, rsa_pem

from .conftest import LOOPBACK, free_port

pytestmark = pytest.mark.server  # a local HTTPS server and listeners
NOTHING_ALLOWED = NetworkPolicy.from_string("")
PASSPHRASE = "key-passphrase-0007"


@pytest.fixture(scope="module")
def saas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaasServer]:
    with saas_servers.running(Path(tmp_path_factory.mktemp("saas"))) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(saas: SaasServer) -> None:
    saas.requests.clear()
    saas.statements.clear()
    saas.options.clear()


def snowflake(saas: SaasServer, **config: Any) -> ConnectionTarget:
    fields: dict[str, Any] = {
        "type": "snowflake",
        "host": "localhost",
        "port": saas.port,
        "database_name": "ANALYTICS",
        "warehouse": "COMPUTE_WH",
        "role": "REPORTER",
        "connection_timeout": 10,
        "source_config": {"caCertificate": saas.ca_pem, **config},
    }
    for name in ("include_patterns", "exclude_patterns", "database_name", "schema_name", "host", "port"):
        if name in config:
            fields[name] = fields["source_config"].pop(name)
    return ConnectionTarget(**fields)


def key_pair(saas: SaasServer) -> dict[str, str]:
    return {"privateKey": rsa_pem(saas.snowflake_key, PASSPHRASE), "privateKeyPassphrase": PASSPHRASE}


def bigquery(saas: SaasServer, **config: Any) -> ConnectionTarget:
    patterns = {k: tuple(config.pop(k)) for k in ("include_patterns", "exclude_patterns") if k in config}
    source_config = {"caCertificate": saas.ca_pem, "apiUrl": saas.url, "projectId": "example-project", **config}
    return ConnectionTarget(type="bigquery", source_config=source_config, connection_timeout=10, **patterns)


def salesforce(saas: SaasServer, **config: Any) -> ConnectionTarget:
    patterns = {k: tuple(config.pop(k)) for k in ("include_patterns", "exclude_patterns") if k in config}
    source_config = {"caCertificate": saas.ca_pem, "instanceUrl": saas.url, **config}
    return ConnectionTarget(type="salesforce", source_config=source_config, connection_timeout=10, **patterns)


def client_credentials() -> dict[str, str]:
    return {"clientId": saas_servers.SALESFORCE_CLIENT, "clientSecret": saas_servers.SALESFORCE_SECRET}


# -- Snowflake ------------------------------------------------------------------------------------------------------
def test_snowflake_key_pair_signs_a_jwt_the_server_verifies_and_reads_the_version_with_warehouse_and_role(saas):
    # Given an encrypted PKCS#8 key and the user, When the connection is tested
    result = check_connection(snowflake(saas, **key_pair(saas)), {"username": "reader"}, LOOPBACK)
    # Then the server verified the JWT (signature, iss with the key's fingerprint, sub, lifetime) and answered
    assert result.success is True, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version == "Snowflake 9.38.2"
    assert result.details["warehouse"] == "COMPUTE_WH" and result.details["role"] == "REPORTER"
    statement = saas.statements[-1]
    assert statement["warehouse"] == "COMPUTE_WH" and statement["role"] == "REPORTER"
    assert statement["database"] == "ANALYTICS" and statement["statement"].startswith("SELECT CURRENT_VERSION()")
    assert saas.requests[-1]["headers"]["X-Snowflake-Authorization-Token-Type"] == "KEYPAIR_JWT"


@pytest.mark.parametrize(
    ("credentials", "kind"),
    [
        ({"oauth_token": saas_servers.SF_OAUTH}, "OAUTH"),
        ({"password": saas_servers.SF_PAT}, "PROGRAMMATIC_ACCESS_TOKEN"),
    ],
)
def test_snowflake_oauth_and_programmatic_access_tokens(saas, credentials, kind):
    result = check_connection(snowflake(saas), credentials, LOOPBACK)
    assert result.success is True, result.error
    assert saas.requests[-1]["headers"]["X-Snowflake-Authorization-Token-Type"] == kind


@pytest.mark.parametrize(
    "credentials",
    [{"oauth_token": "revoked-oauth-token-123456"}, {"username": "reader", "password": "a-plain-password-xyz"}],
)
def test_snowflake_refused_tokens_are_auth_failed_and_never_shown(saas, credentials):
    result = check_connection(snowflake(saas), credentials, LOOPBACK)
    assert result.success is False and result.error_code == "AUTH_FAILED"
    assert "401" in (result.error or "")
    for value in credentials.values():
        assert value not in json.dumps(result.to_dict())


def test_snowflake_a_key_the_account_does_not_know_is_the_documented_jwt_error(saas):
    import cryptography.hazmat.primitives.asymmetric.rsa as rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = check_connection(snowflake(saas, privateKey=rsa_pem(other)), {"username": "reader"}, LOOPBACK)
    assert result.error_code == "AUTH_FAILED" and "390144" in (result.error or ""), result.error
    assert "BEGIN" not in json.dumps(result.to_dict())


def test_snowflake_a_wrong_passphrase_or_a_missing_user_is_invalid_config(saas):
    wrong = snowflake(saas, privateKey=rsa_pem(saas.snowflake_key, PASSPHRASE), privateKeyPassphrase="nope-nope-nope")
    result = check_connection(wrong, {"username": "reader"}, LOOPBACK)
    assert result.error_code == "INVALID_CONFIG" and "nope-nope-nope" not in (result.error or "")
    assert check_connection(snowflake(saas, **key_pair(saas)), {}, LOOPBACK).error_code == "INVALID_CONFIG"
    assert check_connection(snowflake(saas), {}, LOOPBACK).error_code == "INVALID_CONFIG"


def test_snowflake_discovery_reads_information_schema_with_include_exclude_in_the_where_clause(saas):
    # Given partitions of two rows (the later ones gzip'd) and an include glob whose `_` is literal
    saas.options["snowflake_partition_rows"] = 2
    target = snowflake(saas, include_patterns=["PUBLIC.ORDER*", "PUBLIC.CUSTOMERS"], exclude_patterns=["*.ORDERX*"])
    schema = discover_schema(target, {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    tables = {t.qualified_name: t for t in schema.tables}
    # Then the server, filtering by the bound LIKE patterns, returned only what the globs keep
    assert set(tables) == {"PUBLIC.CUSTOMERS", "PUBLIC.ORDERS", "PUBLIC.ORDER_SUMMARY"}
    queries = [s for s in saas.statements if "INFORMATION_SCHEMA" in s["statement"]]
    assert all("SHOW" not in q["statement"] for q in queries)
    bound = [b["value"] for b in queries[0]["bindings"].values()]
    assert bound[:3] == ["PUBLIC.ORDER%", "PUBLIC.CUSTOMERS", "%.ORDERX%"]
    assert "NOT LIKE ?" in queries[0]["statement"] and "LIMIT ? OFFSET ?" in queries[0]["statement"]
    orders = tables["PUBLIC.ORDERS"]
    assert orders.estimated_rows == 56000 and orders.kind == "table"
    assert [(c.name, c.type, c.nullable, c.default) for c in orders.columns] == [
        ("ID", "NUMBER(38,0)", False, None),
        ("TOTAL", "NUMBER(12,2)", True, "0"),
        ("CREATED_AT", "TIMESTAMP_NTZ", True, "CURRENT_TIMESTAMP()"),
    ]
    assert tables["PUBLIC.CUSTOMERS"].columns[1].type == "TEXT(16777216)"
    assert tables["PUBLIC.ORDER_SUMMARY"].kind == "view" and tables["PUBLIC.ORDER_SUMMARY"].estimated_rows is None
    partitions = [r for r in saas.requests if "partition=" in r["path"]]
    assert partitions, "the later partitions were fetched"


def test_snowflake_literal_underscores_are_escaped_and_classes_filter_here(saas):
    target = snowflake(saas, include_patterns=["PUBLIC.ORDER_SUMMARY"], exclude_patterns=["STAGING.[A-Z]*"])
    schema = discover_schema(target, {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert [t.qualified_name for t in schema.tables] == ["PUBLIC.ORDER_SUMMARY"]
    bound = [b["value"] for b in saas.statements[0]["bindings"].values()]
    assert bound[0] == "PUBLIC.ORDER\\_SUMMARY"  # `_` would match ORDERXSUMMARY unescaped
    assert len(bound) == 3  # the class exclude was not pushed down (LIKE has no classes): include, limit, offset


def test_snowflake_a_warehouse_the_role_cannot_use_fails_the_test(saas):
    target = ConnectionTarget(**{**snowflake(saas).__dict__, "warehouse": "NO_SUCH_WH"})
    result = check_connection(target, {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert result.error_code == "PERMISSION_DENIED" and "NO_SUCH_WH" in (result.error or ""), result.error


def test_snowflake_a_statement_still_running_is_polled_until_done(saas):
    saas.options["snowflake_async_once"] = True
    result = check_connection(snowflake(saas), {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert result.success is True, result.error
    assert any(r["method"] == "GET" and "/api/v2/statements/" in r["path"] for r in saas.requests)


def test_snowflake_discovery_needs_a_database_and_a_missing_one_is_not_found(saas):
    with pytest.raises(ConnectorError) as missing:
        discover_schema(snowflake(saas, database_name="MISSING"), {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert missing.value.code == "NOT_FOUND" and "002003" in missing.value.message
    with pytest.raises(ConnectorError) as none:
        discover_schema(snowflake(saas, database_name=None), {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert none.value.code == "INVALID_CONFIG"


# -- BigQuery -------------------------------------------------------------------------------------------------------
def test_bigquery_service_account_jwt_bearer_grant_then_the_project_is_reached(saas):
    result = check_connection(bigquery(saas, serviceAccountJson=saas.service_account()), {}, LOOPBACK)
    assert result.success is True, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "resolve", "connect", "authenticate", "metadata"]
    token_request = next(r for r in saas.requests if r["path"] == "/token")
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token_request["body"]
    api = [r for r in saas.requests if r["path"].startswith("/bigquery/v2/projects/example-project/datasets")]
    assert api and api[-1]["headers"]["Authorization"] == f"Bearer {saas_servers.GOOGLE_TOKEN}"
    assert saas_servers.GOOGLE_TOKEN not in json.dumps(result.to_dict())


def test_bigquery_invalid_grant_is_auth_failed_and_the_assertion_it_quotes_is_withheld(saas):
    account = saas.service_account("revoked@example-project.iam.gserviceaccount.com")
    result = check_connection(bigquery(saas, serviceAccountJson=account), {}, LOOPBACK)
    assert result.success is False and result.error_code == "AUTH_FAILED"
    shown = json.dumps(result.to_dict())
    assert "BEGIN PRIVATE KEY" not in shown and "eyJ" not in shown  # no key, no assertion (Google echoed it)


@pytest.mark.parametrize(
    ("credentials", "config", "code"),
    [
        ({"oauth_token": "ya29.expired-token-0000"}, {}, "AUTH_FAILED"),
        ({"oauth_token": saas_servers.GOOGLE_TOKEN}, {"projectId": "forbidden-project"}, "PERMISSION_DENIED"),
        ({}, {}, "INVALID_CONFIG"),
        ({"oauth_token": saas_servers.GOOGLE_TOKEN}, {"projectId": "bad/project"}, "INVALID_CONFIG"),
    ],
)
def test_bigquery_documented_errors_map_to_stable_codes(saas, credentials, config, code):
    result = check_connection(bigquery(saas, **config), credentials, LOOPBACK)
    assert result.error_code == code, result.error
    for value in credentials.values():
        assert value not in json.dumps(result.to_dict())


def test_bigquery_a_token_obtained_here_is_withheld_when_an_error_quotes_it(saas):
    target = bigquery(saas, serviceAccountJson=saas.service_account(), projectId="echo-project")
    result = check_connection(target, {}, LOOPBACK)
    assert result.error_code == "PERMISSION_DENIED", result.error
    assert saas_servers.GOOGLE_TOKEN not in json.dumps(result.to_dict())


def test_bigquery_discovery_stops_at_the_deadline_when_the_server_stalls(saas):
    saas.options.update(slow_path="/tables/", slow_seconds=6)
    started = time.monotonic()
    with pytest.raises(ConnectorError) as stalled:
        discover_schema(bigquery(saas), {"oauth_token": saas_servers.GOOGLE_TOKEN}, LOOPBACK, deadline_seconds=1.5)
    assert stalled.value.code == "TIMEOUT"
    assert time.monotonic() - started < 3.5


def test_bigquery_discovery_pages_filters_before_tables_get_and_flattens_records(saas):
    target = bigquery(saas, serviceAccountJson=saas.service_account(), exclude_patterns=["analytics.orders"])
    schema = discover_schema(target, {}, LOOPBACK)
    tables = {t.qualified_name: t for t in schema.tables}
    assert set(tables) == {"analytics.customers", "analytics.daily", "staging.raw"}
    gets = [r["path"] for r in saas.requests if "/tables/" in r["path"]]
    assert not any(p.endswith("/tables/orders") for p in gets)  # excluded before any tables.get
    assert any("pageToken=2" in r["path"] for r in saas.requests)  # the third table came on a second page
    # tables.get ran over more than one keep-alive connection (in parallel), lists and gets alike on few
    assert len({r["client"] for r in saas.requests if "/tables/" in r["path"]}) > 1
    assert len({r["client"] for r in saas.requests}) <= 8 + 1  # the token endpoint's own connection
    customers = tables["analytics.customers"]
    assert customers.estimated_rows == 1500 and tables["analytics.daily"].kind == "view"
    assert [(c.name, c.type, c.nullable) for c in customers.columns] == [
        ("id", "INTEGER", False),
        ("email", "STRING", True),
        ("address", "RECORD", True),
        ("address.city", "STRING", True),
        ("address.geo", "RECORD", True),
        ("address.geo.lat", "FLOAT", True),
        ("address.geo.lon", "FLOAT", True),
        ("tags", "STRING REPEATED", False),
        ("items", "RECORD REPEATED", False),
        ("items.sku", "STRING", True),
    ]


def test_bigquery_one_dataset_and_an_unknown_one(saas):
    schema = discover_schema(bigquery(saas, dataset="staging"), {"oauth_token": saas_servers.GOOGLE_TOKEN}, LOOPBACK)
    assert [t.qualified_name for t in schema.tables] == ["staging.raw"]
    with pytest.raises(ConnectorError) as missing:
        discover_schema(bigquery(saas, dataset="nope"), {"oauth_token": saas_servers.GOOGLE_TOKEN}, LOOPBACK)
    assert missing.value.code == "NOT_FOUND"


# -- Salesforce -----------------------------------------------------------------------------------------------------
def test_salesforce_client_credentials_then_describe_global(saas):
    result = check_connection(salesforce(saas, **client_credentials()), {}, LOOPBACK)
    assert result.success is True, result.error
    assert result.server_version == "Salesforce REST API v60.0" and result.details["objects"] == 6
    shown = json.dumps(result.to_dict())
    assert saas_servers.SALESFORCE_SECRET not in shown and saas_servers.SALESFORCE_SESSION not in shown


@pytest.mark.parametrize(
    ("config", "credentials"),
    [
        ({"clientId": saas_servers.SALESFORCE_CLIENT, "refreshToken": saas_servers.SALESFORCE_REFRESH}, {}),
        ({"clientId": saas_servers.SALESFORCE_CLIENT, "loginUrl": "{url}"}, {"username": "integration@example.com"}),
    ],
    ids=["refresh-token", "jwt-bearer"],
)
def test_salesforce_refresh_token_and_jwt_bearer_flows(saas, config, credentials):
    config = {k: v.replace("{url}", saas.url) for k, v in config.items()}
    if "loginUrl" in config:
        config["privateKey"] = rsa_pem(saas.salesforce_key)
    result = check_connection(salesforce(saas, **config), credentials, LOOPBACK)
    assert result.success is True, result.error


@pytest.mark.parametrize(
    ("config", "credentials", "said"),
    [
        ({"clientId": saas_servers.SALESFORCE_CLIENT, "clientSecret": "wrong-secret-value-1"}, {}, "invalid_client"),
        ({"clientId": saas_servers.SALESFORCE_CLIENT, "refreshToken": "expired-refresh-value-2"}, {}, "invalid_grant"),
        ({}, {"oauth_token": "00Dexpired!session-value-3"}, "INVALID_SESSION_ID"),
    ],
)
def test_salesforce_documented_auth_errors_are_auth_failed_and_secrets_stay_hidden(saas, config, credentials, said):
    result = check_connection(salesforce(saas, **config), credentials, LOOPBACK)
    assert result.error_code == "AUTH_FAILED" and said in (result.error or ""), result.error
    shown = json.dumps(result.to_dict())
    for value in [*config.values(), *credentials.values()]:
        if value != saas_servers.SALESFORCE_CLIENT:
            assert value not in shown


def test_salesforce_discovery_describes_queryable_objects_with_counts_and_filters(saas):
    target = salesforce(saas, **client_credentials(), exclude_patterns=["*.*History"])
    schema = discover_schema(target, {}, LOOPBACK)
    tables = {t.name: t for t in schema.tables}
    assert set(tables) == {"Account", "Contact", "Opportunity", "Custom__c"}  # not AuraDefinitionChange (no query)
    account = tables["Account"]
    assert account.schema == "salesforce" and account.primary_key == ["Id"]
    assert account.estimated_rows == 10
    assert [(c.name, c.type, c.nullable) for c in account.columns] == [
        ("Id", "id", False),
        ("Name", "string(255)", False),
        ("OwnerId", "reference(User)", False),
        ("Amount", "currency(18,2)", True),
        ("IsActive", "boolean", False),
    ]
    batches = [r for r in saas.requests if r["path"].endswith("/composite/batch")]
    assert len(batches) == 1 and not any("AccountHistory" in r["body"].decode() for r in batches)


def test_salesforce_an_instance_url_at_the_metadata_address_is_refused(saas):
    saas.options["salesforce_instance_url"] = "https://169.254.169.254"
    result = check_connection(salesforce(saas, **client_credentials()), {}, LOOPBACK)
    assert result.error_code == "BLOCKED_ADDRESS", result.error


# -- network guards, all three -----------------------------------------------------------------------------------
def _at(kind: str, saas: SaasServer, host: str, port: int) -> tuple[ConnectionTarget, dict[str, str]]:
    url = f"https://{host}:{port}" if ":" not in host else f"https://[{host}]:{port}"
    if kind == "snowflake":
        return snowflake(saas, host=host, port=port), {"oauth_token": saas_servers.SF_OAUTH}
    if kind == "bigquery":
        return bigquery(saas, apiUrl=url), {"oauth_token": saas_servers.GOOGLE_TOKEN}
    return salesforce(saas, instanceUrl=url), {"oauth_token": saas_servers.SALESFORCE_SESSION}


KINDS = ["snowflake", "bigquery", "salesforce"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_closed_port_is_unreachable_fast(saas, kind):
    target, credentials = _at(kind, saas, "localhost", free_port())
    started = time.monotonic()
    result = check_connection(target, credentials, LOOPBACK)
    assert result.error_code == "UNREACHABLE", result.error
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_listener_is_a_timeout_within_the_deadline(saas, kind, silent_server):
    target, credentials = _at(kind, saas, "localhost", silent_server)  # accepts TCP, never says a TLS word
    started = time.monotonic()
    result = check_connection(target, credentials, LOOPBACK, deadline_seconds=1.5)
    elapsed = time.monotonic() - started
    assert result.error_code == "TIMEOUT", result.error
    assert elapsed < 4


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"])
def test_metadata_addresses_are_blocked_even_with_loopback_allowed(saas, kind, host):
    target, credentials = _at(kind, saas, host, 443)
    result = check_connection(target, credentials, LOOPBACK)
    assert result.error_code == "BLOCKED_ADDRESS", result.error


@pytest.mark.parametrize("kind", KINDS)
def test_loopback_is_blocked_when_the_policy_does_not_allow_it(saas, kind):
    target, credentials = _at(kind, saas, "localhost", saas.port)
    result = check_connection(target, credentials, NOTHING_ALLOWED)
    assert result.error_code == "BLOCKED_ADDRESS", result.error
    assert saas.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_public_host_that_is_not_the_engines_is_refused_before_connecting(saas, kind):
    # A public address (an IP literal: no DNS, and refused before any packet) in no engine domain
    target, credentials = _at(kind, saas, "93.184.215.14", 443)
    started = time.monotonic()
    result = check_connection(target, credentials, NOTHING_ALLOWED)
    assert result.error_code == "INVALID_CONFIG", result.error
    assert "not a" in (result.error or "") and time.monotonic() - started < 1
    assert [s.name for s in result.stages] == ["resolve"]


def test_an_untrusted_certificate_is_tls_failed(saas):
    target = snowflake(saas)
    plain = ConnectionTarget(**{**target.__dict__, "source_config": {}})
    result = check_connection(plain, {"oauth_token": saas_servers.SF_OAUTH}, LOOPBACK)
    assert result.error_code == "TLS_FAILED", result.error


# -- bounds (module constants lowered in this process; the runner path has its own process) -----------------------
@pytest.mark.parametrize("kind", KINDS)
def test_discovery_stops_at_the_table_bound_and_says_so(saas, kind, connector_path, monkeypatch):
    if connector_path == "runner":
        pytest.skip("the bound is lowered in this process only; the runner's process keeps 10,000")
    from datasource_registry.connectors import bigquery as bq
    from datasource_registry.connectors import salesforce as sf
    from datasource_registry.connectors import snowflake as sn

    module = {"snowflake": sn, "bigquery": bq, "salesforce": sf}[kind]
    monkeypatch.setattr(module, "MAX_TABLES", 2)
    if kind == "snowflake":
        monkeypatch.setattr(sn, "TABLE_PAGE", 1)  # pages of one row: the bound is met across pages
        target, credentials = snowflake(saas), {"oauth_token": saas_servers.SF_OAUTH}
    elif kind == "bigquery":
        target, credentials = bigquery(saas), {"oauth_token": saas_servers.GOOGLE_TOKEN}
    else:
        target, credentials = salesforce(saas, **client_credentials()), {}
    schema = discover_schema(target, credentials, LOOPBACK)
    assert len(schema.tables) == 2 and schema.details["truncated"] is True
    assert all(t.columns for t in schema.tables)
