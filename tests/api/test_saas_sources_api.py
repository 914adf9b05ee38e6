"""Snowflake, BigQuery and Salesforce sources over the HTTP API, against the local HTTPS engines of
tests/saas_servers.py: their secret settings go to Secrets Manager and never come back, and a Salesforce source
stored with 003's connectorKey alone (type empty) is tested and discovered by the Salesforce connector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import saas_servers
from tests.saas_servers import SaasServer, rsa_pem

BASE = "/api/v1/data-sources"
PLACEHOLDER = "********"


@pytest.fixture(scope="module")
def saas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaasServer]:
    with saas_servers.running(Path(tmp_path_factory.mktemp("saas-api"))) as server:
        yield server


def test_a_salesforce_source_by_connector_key_keeps_its_secrets_and_routes_to_its_connector(api, saas):
    # Given a Salesforce source as 003 writes it: connectorKey, no type, secrets in sourceConfig
    body = {
        "name": "Local Salesforce",
        "connectorKey": "salesforce",
        "sourceConfig": {
            "instanceUrl": saas.url,
            "caCertificate": saas.ca_pem,
            "clientId": saas_servers.SALESFORCE_CLIENT,
            "clientSecret": saas_servers.SALESFORCE_SECRET,
            "refreshToken": saas_servers.SALESFORCE_REFRESH,
            "privateKey": rsa_pem(saas.salesforce_key),
        },
        "includePatterns": ["salesforce.Account", "salesforce.Contact"],
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    source = created.json()
    # Then no secret comes back, on create or on read: each is a placeholder
    for answer in (source, api.get(f"{BASE}/{source['id']}").json()):
        assert answer.get("type") in (None, "") and answer["connectorKey"] == "salesforce"
        config = answer["sourceConfig"]
        assert config["clientSecret"] == PLACEHOLDER and config["refreshToken"] == PLACEHOLDER
        assert config["privateKey"] == PLACEHOLDER and config["clientId"] == saas_servers.SALESFORCE_CLIENT
        text = json.dumps(answer)
        assert saas_servers.SALESFORCE_SECRET not in text and saas_servers.SALESFORCE_REFRESH not in text
        assert "PRIVATE KEY" not in text
    # When it is tested, Then the Salesforce connector answered (the refresh-token flow, put back in memory)
    tested = api.post(f"{BASE}/{source['id']}/test-connection")
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["success"] is True, result
    assert result["serverVersion"] == "Salesforce REST API v60.0"
    # And discovered, include patterns honoured
    discovered = api.post(f"{BASE}/{source['id']}/discover-schema")
    assert discovered.status_code == 200, discovered.text
    assert discovered.json()["tableCount"] == 2
    schema = api.get(f"{BASE}/{source['id']}/schema").json()
    assert sorted(f"{t['schema']}.{t['name']}" for t in schema["tables"]) == [
        "salesforce.Account",
        "salesforce.Contact",
    ]
    grants = [r for r in saas.requests if r["path"] == "/services/oauth2/token"]
    assert grants and b"grant_type=refresh_token" in grants[-1]["body"]
    assert saas_servers.SALESFORCE_SESSION not in tested.text


def test_a_bigquery_service_account_key_is_stored_as_a_secret_and_tested(api, saas):
    account = saas.service_account()
    body = {
        "name": "Local BigQuery",
        "type": "bigquery",
        "sourceConfig": {
            "projectId": "example-project",
            "apiUrl": saas.url,
            "caCertificate": saas.ca_pem,
            "serviceAccountJson": account,
        },
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    source = created.json()
    shown = api.get(f"{BASE}/{source['id']}").json()
    assert shown["sourceConfig"]["serviceAccountJson"] == PLACEHOLDER
    assert "PRIVATE KEY" not in json.dumps(shown) and "PRIVATE KEY" not in created.text
    tested = api.post(f"{BASE}/{source['id']}/test-connection").json()
    assert tested["success"] is True, tested


def test_a_snowflake_private_key_is_stored_as_a_secret_and_warehouse_and_role_reach_the_engine(api, saas):
    passphrase = "api-key-passphrase-0008"
    body = {
        "name": "Local Snowflake",
        "type": "snowflake",
        "host": "localhost",
        "port": saas.port,
        "databaseName": "ANALYTICS",
        "warehouse": "COMPUTE_WH",
        "role": "REPORTER",
        "sourceConfig": {
            "caCertificate": saas.ca_pem,
            "privateKey": rsa_pem(saas.snowflake_key, passphrase),
            "privateKeyPassphrase": passphrase,
        },
        "credentials": {"username": "reader"},
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["sourceConfig"]["privateKey"] == PLACEHOLDER
    assert source["sourceConfig"]["privateKeyPassphrase"] == PLACEHOLDER and passphrase not in created.text
    tested = api.post(f"{BASE}/{source['id']}/test-connection").json()
    assert tested["success"] is True, tested
    assert tested["details"]["warehouse"] == "COMPUTE_WH" and tested["details"]["role"] == "REPORTER"
