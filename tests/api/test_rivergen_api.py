"""The RiverGen dialect (001) under /rivergen/api/v1/data-sources, used as 001's document shows, over a real socket."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import load_event, port_open, postgres_body, require

BASE = "/rivergen/api/v1/data-sources"
# 001's response example, field for field (ids and user ids are the registry's strings; see docs/dialects.md)
FIELDS_001 = {
    "id", "organization_id", "workspace_id", "name", "type", "description", "host", "port", "database_name",
    "schema_name", "file_path", "use_ssh_tunnel", "ssh_host", "ssh_port", "ssh_username", "ssh_key_id",
    "ssh_local_port", "connection_pool_size", "connection_timeout", "query_timeout", "max_retries", "status",
    "last_tested_at", "last_successful_connection_at", "last_failed_connection_at", "failure_count",
    "failure_reason", "schema_discovered_at", "schema_auto_refresh", "schema_refresh_interval", "metadata", "tags",
    "created_by_user_id", "created_at", "updated_at", "updated_by_user_id",
}  # fmt: skip


class RiverGenClient:
    """What a 001 client does: base URL ending in /rivergen, reads `success`, `data.id` and `message`."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def create(self, body: dict) -> str:
        resp = self.http.post("/rivergen/api/v1/data-sources", json=body)
        assert resp.status_code == 201, resp.text
        assert resp.json()["success"] is True and resp.json()["message"] == "Data source created successfully"
        return str(resp.json()["data"]["id"])


def test_001s_curl_example_works_unchanged_and_answers_in_001s_envelope(api, tenant):
    # When 001's curl example is sent as written (snake_case, type, credentials)
    resp = api.post(BASE, json=postgres_body())

    # Then 201 with {"success", "data", "message"} and 001's response field set, in 001's vocabulary
    assert resp.status_code == 201
    body = resp.json()
    assert (body["success"], body["message"]) == (True, "Data source created successfully")
    data = body["data"]
    assert set(data) == FIELDS_001
    assert (data["name"], data["type"], data["database_name"], data["port"]) == (
        "Production PostgreSQL",
        "postgresql",
        "production",
        5432,
    )
    assert (data["status"], data["failure_count"], data["connection_timeout"], data["schema_refresh_interval"]) == (
        "inactive",
        0,
        30,
        3600,
    )
    assert data["organization_id"] == tenant and data["created_at"].endswith("Z")
    assert "securepassword" not in resp.text and "dbuser" not in resp.text


def test_a_001_client_runs_its_whole_session_and_every_dialect_sees_the_same_source(api, tenant):
    client = RiverGenClient(api)
    source_id = client.create(postgres_body("Orders DB", tags=["orders"]))

    # Visible everywhere: the canonical, Public v1 and Foundation dialects read the same record
    assert api.get(f"/api/v1/data-sources/{source_id}").json()["name"] == "Orders DB"
    assert api.get(f"/api/public/v1/data-sources/{source_id}").json()["data"]["name"] == "Orders DB"
    foundation = api.get("/api/data/data_source", params={"identifier": source_id}, headers={"x-org": tenant})
    assert foundation.json()["entity"]["name"] == "Orders DB"

    got = api.get(f"{BASE}/{source_id}").json()
    assert got["success"] is True and got["data"]["tags"] == ["orders"]
    listed = api.get(BASE).json()
    assert listed["success"] is True and [s["id"] for s in listed["data"]] == [source_id]
    assert listed["pagination"] == {"total": 1, "limit": 25, "has_more": False, "next_cursor": None}

    updated = api.put(f"{BASE}/{source_id}", json={"description": "orders", "connection_timeout": 10})
    assert updated.status_code == 200 and updated.json()["message"] == "Data source updated successfully"
    assert (updated.json()["data"]["description"], updated.json()["data"]["connection_timeout"]) == ("orders", 10)
    assert api.get(f"/api/v1/data-sources/{source_id}").json()["description"] == "orders"

    deleted = api.delete(f"{BASE}/{source_id}")
    assert deleted.status_code == 200 and deleted.json() == {
        "success": True,
        "data": None,
        "message": "Data source deleted successfully",
    }
    assert api.get(f"/api/v1/data-sources/{source_id}").status_code == 404


def test_test_connection_and_discover_schema_answer_in_001s_envelope(api, pg_schema):
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    schema = pg_schema('CREATE TABLE "{schema}".customers (id bigint PRIMARY KEY, email text)')
    source_id = RiverGenClient(api).create(
        {
            "name": "Local PostgreSQL",
            "type": "postgresql",
            "host": "127.0.0.1",
            "port": 5432,
            "database_name": "test",
            "credentials": {"username": "postgres"},
            "metadata": {"team": "data"},
        }
    )
    api.put(
        "/api/v1/data-sources", json={"key": "local-postgresql", "includePatterns": [f"{schema}.*"]}
    ).raise_for_status()

    tested = api.post(f"{BASE}/{source_id}/test-connection").json()
    assert (tested["success"], tested["message"], tested["data"]["success"]) == (True, "Connection successful", True)
    assert {"stages", "duration_ms", "error_code"} <= set(tested["data"])
    assert api.get(f"{BASE}/{source_id}").json()["data"]["status"] == "active"

    discovered = api.post(f"{BASE}/{source_id}/discover-schema").json()
    assert discovered["success"] is True and discovered["message"] == "Schema discovered successfully"
    assert discovered["data"]["version"] == 1


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (
            lambda api, viewer: api.post(BASE, json={"name": "", "type": "postgresql", "credentials": {}}),
            400,
            "BAD_REQUEST",
        ),
        (lambda api, viewer: api.post(BASE, json={"name": "No type", "credentials": {}}), 400, "BAD_REQUEST"),
        (lambda api, viewer: viewer.post(BASE, json=postgres_body("Viewer's")), 403, "FORBIDDEN"),
        (lambda api, viewer: api.get(f"{BASE}/ds_01kaqz5h0000000000000000000"), 404, "NOT_FOUND"),
        (lambda api, viewer: api.post(BASE, json=postgres_body("Taken")), 409, "CONFLICT"),
    ],
)
def test_errors_carry_001s_codes_in_its_shape(api, client_for, call, status, code):
    api.post(BASE, json=postgres_body("Taken")).raise_for_status()

    resp = call(api, client_for("viewer"))

    assert resp.status_code == status
    body = resp.json()
    assert (body["success"], body["error"]["code"], body["status"]) == (False, code, status)
    assert body["message"] and body["error"]["message"] == body["message"]
    if status == 400:
        assert body["error"]["details"] and {"field", "reason"} <= set(body["error"]["details"][0])


def test_a_request_without_verified_claims_is_unauthorized_in_001s_shape(local_api):
    # Over HTTP, API Gateway's JWT authorizer answers a bad token before any function runs (so does `make serve`);
    # a request that reaches the function without claims gets 001's UNAUTHORIZED
    event = load_event("rivergen_list_data_sources.json")
    del event["requestContext"]["authorizer"]

    response = local_api.invoker.invoke("RiverGenListDataSourcesFunction", event)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["success"], body["error"]["code"]) == (401, False, "UNAUTHORIZED")


def test_the_sample_events_drive_a_001_lifecycle(local_api, tenant):
    created = local_api.invoker.invoke(
        "RiverGenCreateDataSourceFunction", load_event("rivergen_create_data_source.json", tenant=tenant)
    )
    assert created["statusCode"] == 201, created["body"]
    for function, event, status in [
        ("RiverGenGetDataSourceFunction", "rivergen_get_data_source.json", 200),
        ("RiverGenListDataSourcesFunction", "rivergen_list_data_sources.json", 200),
        ("RiverGenUpdateDataSourceFunction", "rivergen_update_data_source.json", 200),
        ("RiverGenTestConnectionFunction", "rivergen_test_connection.json", 200),
        ("RiverGenDiscoverSchemaFunction", "rivergen_discover_schema.json", 422),
        ("RiverGenDeleteDataSourceFunction", "rivergen_delete_data_source.json", 200),
    ]:
        response = local_api.invoker.invoke(function, load_event(event, tenant=tenant))
        assert response["statusCode"] == status, (function, response["body"])
        assert json.loads(response["body"])["success"] is (status < 400)


def test_a_stale_version_is_a_conflict_with_the_current_source(api):
    source_id = RiverGenClient(api).create(postgres_body())

    stale = api.put(f"{BASE}/{source_id}", json={"description": "late"}, headers={"if-match": '"7"'})

    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
    assert stale.json()["error"]["current"]["id"] == source_id and "current" in stale.json()


DEFAULTS_003 = {
    "description": "",
    "connectorKey": "",
    "sourceConfig": {},
    "fileFormat": None,
    "syncMode": "full_refresh",
    "schedule": {},
    "schemaKey": None,
    "status": "draft",
    "lastSyncAt": None,
    "lastSyncStatus": None,
    "recordCount": 0,
}
DEFAULTS_001 = {
    "use_ssh_tunnel": False,
    "ssh_port": 22,
    "ssh_local_port": None,
    "connection_pool_size": 5,
    "connection_timeout": 30,
    "query_timeout": 300,
    "max_retries": 3,
    "schema_auto_refresh": True,
    "schema_refresh_interval": 3600,
    "metadata": {},
    "tags": [],
    "workspace_id": None,
    "schema_name": None,
    "file_path": None,
}


@pytest.mark.parametrize(("field", "default"), DEFAULTS_003.items())
def test_003s_documented_default(api, field, default):
    created = api.post("/api/v1/data-sources", json={"key": "defaults", "name": "Defaults"})

    assert created.status_code == 201, created.text
    assert created.json()[field] == default


@pytest.mark.parametrize(("field", "default"), DEFAULTS_001.items())
def test_001s_documented_default(api, field, default):
    created = api.post(BASE, json={"name": "Defaults", "type": "http_api", "credentials": {}})

    assert created.status_code == 201, created.text
    assert created.json()["data"][field] == default


def test_a_schedule_shows_only_what_is_set(api):
    created = api.post("/api/v1/data-sources", json={"key": "s", "name": "S", "schedule": {"cron": "0 2 * * *"}})

    assert created.json()["schedule"] == {"cron": "0 2 * * *"}


def test_warehouse_and_role_are_configuration_shown_where_the_seeds_show_them(api, tenant):
    # Given 001's credentials object carrying Snowflake's warehouse and role beside a password
    body = {
        "name": "Warehouse",
        "type": "snowflake",
        "connection_string": "snowflake://acct/db",
        "credentials": {"username": "svc", "password": "pw-secret", "warehouse": "COMPUTE_WH", "role": "ANALYST"},
    }
    created = api.post("/api/v1/data-sources", json=body).json()

    # Then they read back as the source's own fields (canonical, and 002's plain fields); the password does not
    assert (created["warehouse"], created["role"]) == ("COMPUTE_WH", "ANALYST")
    assert created["credentials"]["configured"] == ["password", "username"]
    public = api.get(f"/api/public/v1/data-sources/{created['id']}").json()["data"]
    assert (public["warehouse"], public["role"]) == ("COMPUTE_WH", "ANALYST")
    # And 001's update through credentials, or 002's PATCH, changes them like any field
    api.put("/api/v1/data-sources", json={"key": created["key"], "credentials": {"role": "LOADER"}}).raise_for_status()
    api.patch(f"/api/public/v1/data-sources/{created['id']}", json={"warehouse": "BIG_WH"}).raise_for_status()
    after = api.get(f"/api/v1/data-sources/{created['id']}").json()
    assert (after["warehouse"], after["role"], after["credentials"]["configured"]) == (
        "BIG_WH",
        "LOADER",
        ["password", "username"],
    )
    assert "pw-secret" not in json.dumps([created, public, after])
