"""Test connection and discover schema through the HTTP API, against the real PostgreSQL and MariaDB on loopback."""

from __future__ import annotations

import boto3
import pytest

BASE = "/api/v1/data-sources"
TABLES = """
CREATE TABLE "{schema}".customers (id bigint PRIMARY KEY, email text NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE "{schema}".orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES "{schema}".customers(id), total numeric(12,2));
CREATE TABLE "{schema}".audit_log (id bigserial PRIMARY KEY, payload jsonb);
CREATE VIEW "{schema}".big_orders AS SELECT * FROM "{schema}".orders WHERE total > 100;
"""


def local_postgres(schema: str, **extra):
    return {
        "name": f"Local PostgreSQL {schema}",
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "databaseName": "test",
        "schemaName": schema,
        "includePatterns": [f"{schema}.*"],
        "credentials": {"username": "postgres", "password": "pg-secret-never-shown"},
        **extra,
    }


def test_a_saved_postgres_source_tests_healthy_and_records_it(api, pg_schema):
    schema = pg_schema(TABLES)
    created = api.post(BASE, json=local_postgres(schema)).json()

    tested = api.post(f"{BASE}/{created['id']}/test-connection")

    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["success"] is True and result["errorCode"] is None
    assert [stage["name"] for stage in result["stages"]][-1] == "metadata"
    assert all(stage["ok"] for stage in result["stages"])
    assert result["state"] == {"code": "100", "reason": "Healthy.", "healthy": True}
    source = api.get(f"{BASE}/{created['id']}").json()
    assert source["lastTestedAt"] and source["lastSuccessfulConnectionAt"] and source["failureCount"] == 0
    assert source["rowVersion"] == created["rowVersion"]  # a recorded test is the registry's write, not the user's
    assert "pg-secret-never-shown" not in tested.text


def test_a_refused_port_fails_fast_with_a_stable_code_and_counts_the_failure(api):
    created = api.post(BASE, json={**local_postgres("public"), "port": 1, "connectionTimeout": 3}).json()

    first = api.post(f"{BASE}/{created['id']}/test-connection").json()
    api.post(f"{BASE}/{created['id']}/test-connection")

    assert first["success"] is False and first["errorCode"] == "UNREACHABLE"
    source = api.get(f"{BASE}/{created['id']}").json()
    assert source["failureCount"] == 2 and source["lastFailedConnectionAt"]
    assert source["state"]["code"] == "500" and source["state"]["healthy"] is False
    assert source["failureReason"].startswith("UNREACHABLE")


@pytest.mark.parametrize("host", ["169.254.169.254", "0xa9fea9fe", "10.1.2.3", "[::ffff:169.254.169.254]".strip("[]")])
def test_metadata_and_private_addresses_are_blocked_even_with_loopback_allowed(api, host):
    result = api.post(f"{BASE}/test-connection", json={**local_postgres("public"), "host": host}).json()

    assert result["success"] is False
    assert result["errorCode"] == "BLOCKED_ADDRESS"


def test_an_unsaved_configuration_is_tested_and_nothing_is_stored(api):
    result = api.post(f"{BASE}/test-connection", json=local_postgres("public"))

    assert result.status_code == 200 and result.json()["success"] is True
    assert "dataSourceId" not in result.json()
    assert api.get(BASE).json()["pagination"]["total"] == 0


def test_a_wrong_mariadb_password_is_auth_failed_and_never_echoed(api, mariadb_database):
    database = mariadb_database([])
    body = {
        "name": "MariaDB",
        "type": "mariadb",
        "host": "127.0.0.1",
        "port": 3306,
        "databaseName": database,
        "credentials": {"username": "root", "password": "Wr0ng-Pa55-marker"},
    }

    result = api.post(f"{BASE}/test-connection", json=body)

    assert result.json()["errorCode"] == "AUTH_FAILED"
    assert "Wr0ng-Pa55-marker" not in result.text


def test_discovery_versions_only_changes_and_diffs_them(api, pg_schema):
    import psycopg

    schema = pg_schema(TABLES)
    created = api.post(BASE, json=local_postgres(schema)).json()

    first = api.post(f"{BASE}/{created['id']}/discover-schema").json()
    again = api.post(f"{BASE}/{created['id']}/discover-schema").json()
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN phone text')
        conn.execute(f'ALTER TABLE "{schema}".orders ALTER COLUMN total SET NOT NULL')
        conn.execute(f'DROP TABLE "{schema}".audit_log')
    second = api.post(f"{BASE}/{created['id']}/discover-schema").json()

    assert (first["version"], first["changed"], first["tableCount"]) == (1, True, 4)
    assert (again["version"], again["changed"]) == (1, False)
    assert (second["version"], second["changed"], second["tableCount"]) == (2, True, 3)
    assert second["diff"]["tablesRemoved"] == 1 and second["diff"]["columnsAdded"] == 1
    diff = api.get(f"{BASE}/{created['id']}/schema/diff", params={"from": 1, "to": 2}).json()
    assert diff["tablesRemoved"] == [f"{schema}.audit_log"]
    changed = {change["table"]: change for change in diff["tablesChanged"]}
    assert changed[f"{schema}.customers"]["columnsAdded"] == ["phone"]
    assert changed[f"{schema}.orders"]["columnsChanged"][0]["name"] == "total"
    assert api.get(f"{BASE}/{created['id']}").json()["schemaDiscoveredAt"]


def test_the_schema_is_paged_and_old_versions_stay_readable(api, pg_schema):
    schema = pg_schema(TABLES)
    created = api.post(BASE, json=local_postgres(schema)).json()
    api.post(f"{BASE}/{created['id']}/discover-schema")

    names, cursor = [], None
    while True:
        page = api.get(f"{BASE}/{created['id']}/schema", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        names += [f"{t['schema']}.{t['name']}" for t in body["tables"]]
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            break
    customers = next(
        t
        for t in api.get(f"{BASE}/{created['id']}/schema", params={"version": 1}).json()["tables"]
        if t["name"] == "customers"
    )

    assert names == sorted(names) and len(names) == 4
    assert customers["primaryKey"] == ["id"]
    assert [c["name"] for c in customers["columns"]] == ["id", "email", "created_at"]
    assert api.get(f"{BASE}/{created['id']}/schema", params={"version": 9}).status_code == 404
    assert api.get(f"{BASE}/{created['id']}/schema/diff", params={"from": 1}).status_code == 400


def test_roles_tenants_and_deletion_of_snapshots(api, client_for, pg_schema, local_api, tenant):
    schema = pg_schema(TABLES)
    created = api.post(BASE, json=local_postgres(schema)).json()
    api.post(f"{BASE}/{created['id']}/discover-schema")
    viewer, stranger = client_for("viewer"), client_for("admin", tenant_id="t_schema_stranger")

    assert viewer.get(f"{BASE}/{created['id']}/schema").status_code == 200
    assert viewer.post(f"{BASE}/{created['id']}/test-connection").status_code == 403
    assert viewer.post(f"{BASE}/{created['id']}/discover-schema").status_code == 403
    for method, path in [("POST", "test-connection"), ("POST", "discover-schema"), ("GET", "schema")]:
        assert stranger.request(method, f"{BASE}/{created['id']}/{path}").status_code == 404

    assert api.delete(BASE, params={"key": created["key"]}).status_code == 204
    dynamodb = boto3.client("dynamodb", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    left = dynamodb.query(
        TableName="local-DataSourcesTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{tenant}"}},
    )["Items"]
    # What stays is the counter and the source's configuration history (kept for the retention)
    assert [item["sk"]["S"] for item in left if not item["sk"]["S"].startswith(("REV#", "AUDIT#"))] == ["COUNT"]


def test_secret_manager_key_cannot_name_another_tenants_registry_secret(api, client_for, local_api):
    victim = client_for("editor", tenant_id="t_victim_secret")
    theirs = victim.post(BASE, json=local_postgres("public", name="Victim DB")).json()
    secrets = boto3.client("secretsmanager", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    arn = secrets.list_secrets(Filters=[{"Key": "tag-value", "Values": [theirs["id"]]}])["SecretList"][0]["ARN"]
    attacker = api.post(
        "/api/public/v1/data-sources",
        json={
            "name": "borrowed",
            "databaseType": "postgresql",
            "host": "127.0.0.1",
            "port": "5432",
            "databaseName": "test",
            "secretManagerKey": arn,
        },
    ).json()["data"]

    tested = api.post(f"{BASE}/{attacker['id']}/test-connection").json()
    discovered = api.post(f"{BASE}/{attacker['id']}/discover-schema")

    assert (tested["success"], tested["errorCode"]) == (False, "PERMISSION_DENIED")
    assert discovered.status_code == 422 and discovered.json()["errorCode"] == "PERMISSION_DENIED"
    assert "pg-secret-never-shown" not in tested.__repr__() + discovered.text
