"""The Foundation dialect (000) under /api/data over a real socket, on the local stack (moto server)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

from datasource_registry.domain.rules import connection_checked
from datasource_registry.runtime import services
from devserver import tokens
from tests.conftest import port_open, require

SOURCE = "/api/data/data_source"
SYSTEM = "/api/data/data_system"
LINK = "/api/data/link/data_system/data_source"


@pytest.fixture
def org(client_for, tenant):
    """An editor of the test's tenant who sends 000's x-org header."""
    client = client_for("editor")
    client.headers["x-org"] = tenant
    return client


def create_body(name="Data Source example", **entity):
    return {
        "entity": {
            "name": name,
            "entity_type": "origin",
            "label": "DSE",
            "description": "This is an example for data source",
            **entity,
        },
        "entity_info": {"owner": "owner@example.com", "contact_ids": ["Data Source contact"], "links": ["example.com"]},
    }


S3_CONNECTION = {
    "connection": {
        "connection_type": "s3",
        "url": "s3-endpoint-url",
        "access_key": {"env_key": "S3_ACCESS_KEY"},
        "access_secret": {"env_key": "S3_SECRET_KEY"},
    }
}


def state(client, identifier):
    return client.get(SOURCE, params={"identifier": identifier}).json()["entity"]["state"]


def record_test_outcome(tenant, identifier, ok):
    """What a user's connection test records (the registry's own write, through the one service)."""
    services().data_sources.apply_registry_update(
        tenant,
        identifier,
        lambda current: connection_checked(
            current, datetime.now(UTC), healthy=ok, reason=None if ok else "connection refused"
        ),
    )


def state_within(client, identifier, deadline_seconds=60.0, until_not="003"):
    """The state once the background check has recorded one: the first that is not `until_not` (the state it
    leaves: 003 waits for a first check), or the state at the deadline."""
    until = time.monotonic() + deadline_seconds
    while (current := state(client, identifier))["code"] in {until_not, "003"} and time.monotonic() < until:
        time.sleep(0.2)
    return current


def test_000s_complete_python_example_runs_as_written(server, tenant, org, local_api, background_checks):
    # Given 000's setup: API_URL at the local server's /api and get_headers() giving a dev token and x-org, an
    # S3 bucket in the embedded AWS, and the registry's scheduler running as under `make serve`
    API_URL = f"{server.url}/api"  # named as 000 names it
    bucket = f"orders-{uuid.uuid4().hex[:8]}"
    local_api.aws.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3_url = f"https://s3.eu-west-1.amazonaws.com/{bucket}"

    def get_headers():
        return {"Authorization": f"Bearer {tokens.issue(tenant, 'editor')}", "x-org": tenant}

    # -- 000's functions, as written --------------------------------------------------------------------------
    def create_data_source(name, description, owner_email="[email protected]"):
        """Create a new data source"""
        data_source_resp = requests.post(
            f"{API_URL}/data/data_source",
            headers=get_headers(),
            json={
                "entity": {
                    "name": name,
                    "entity_type": "origin",
                    "label": name[:3].upper(),
                    "description": description,
                },
                "entity_info": {"owner": owner_email, "contact_ids": [f"{name} contact"], "links": ["example.com"]},
            },
        )
        if data_source_resp.status_code == 200:
            return data_source_resp.json()["entity"]["identifier"]
        else:
            print(f"Error creating data source: {data_source_resp.text}")
            return None

    def link_data_source_to_data_system(data_system_id, data_source_id):
        """Link a data source to a data system"""
        link_resp = requests.post(
            f"{API_URL}/data/link/data_system/data_source",
            headers=get_headers(),
            params={"identifier": data_system_id, "child_identifier": data_source_id},
        )
        return link_resp.status_code == 200

    def configure_s3_data_source(data_source_id, s3_url):
        """Configure S3 connection for a data source"""
        connection_resp = requests.put(
            f"{API_URL}/data/data_source/connection?identifier={data_source_id}",
            headers=get_headers(),
            json={
                "connection": {
                    "connection_type": "s3",
                    "url": s3_url,
                    "access_key": {"env_key": "S3_ACCESS_KEY"},
                    "access_secret": {"env_key": "S3_SECRET_KEY"},
                }
            },
        )
        return connection_resp.status_code == 200

    def set_s3_secrets(data_source_id, access_key, secret_key):
        """Set S3 access credentials for a data source"""
        secrets_resp = requests.post(
            f"{API_URL}/data/data_source/secret?identifier={data_source_id}",
            headers=get_headers(),
            json={"S3_ACCESS_KEY": access_key, "S3_SECRET_KEY": secret_key},
        )
        return secrets_resp.status_code == 200

    # -- the flow -----------------------------------------------------------------------------------------------
    system = requests.post(
        f"{API_URL}/data/data_system", headers=get_headers(), json={"entity": {"name": "Lake"}}
    ).json()
    system_id = system["entity"]["identifier"]

    # When the example's steps run one after another
    data_source_id = create_data_source("Orders", "Orders landed in S3")
    assert data_source_id is not None
    assert state(org, data_source_id) == {"code": "001", "reason": "Requires configuration.", "healthy": False}

    assert link_data_source_to_data_system(system_id, data_source_id)
    assert configure_s3_data_source(data_source_id, s3_url)
    assert state(org, data_source_id) == {"code": "002", "reason": "Requires secrets.", "healthy": False}

    assert set_s3_secrets(data_source_id, "AKIAEXAMPLE", "very-secret-key-value")
    # (configured: the registry now tests the connection itself, in the background, with those keys)

    assert state_within(org, data_source_id) == {"code": "100", "reason": "Healthy.", "healthy": True}
    got = requests.get(f"{API_URL}/data/data_source", headers=get_headers(), params={"identifier": data_source_id})

    # Then the source is healthy, linked on both sides, lists secret names and never their values
    body = got.json()
    assert body["entity"]["state"] == {"code": "100", "reason": "Healthy.", "healthy": True}
    assert body["links"] == {"parents": [system_id], "children": []}
    assert body["secrets"] == ["S3_ACCESS_KEY", "S3_SECRET_KEY"]
    assert body["connection"] == S3_CONNECTION["connection"] | {"url": s3_url}
    recorded = org.get(f"/api/v1/data-sources/{data_source_id}").json()  # recorded like any test
    assert recorded["lastTestedAt"] is not None and recorded["failureCount"] == 0
    assert "very-secret-key-value" not in got.text and "AKIAEXAMPLE" not in got.text
    system_now = requests.get(f"{API_URL}/data/data_system", headers=get_headers(), params={"identifier": system_id})
    assert system_now.json()["links"]["children"] == [data_source_id]

    # And list, update and delete work as 000's management section says
    listed = requests.get(f"{API_URL}/data/data_source/list", headers=get_headers())
    assert [s["entity"]["identifier"] for s in listed.json()] == [data_source_id]
    updated = requests.put(
        f"{API_URL}/data/data_source?identifier={data_source_id}",
        headers=get_headers(),
        json={"entity": {"description": "Orders, daily"}},
    )
    assert updated.status_code == 200 and updated.json()["entity"]["description"] == "Orders, daily"
    assert updated.json()["entity"]["label"] == "ORD"
    deleted = requests.delete(f"{API_URL}/data/data_source?identifier={data_source_id}", headers=get_headers())
    assert deleted.status_code == 200
    assert requests.get(f"{API_URL}/data/data_source/list", headers=get_headers()).json() == []
    gone = requests.get(f"{API_URL}/data/data_system", headers=get_headers(), params={"identifier": system_id})
    assert gone.json()["links"]["children"] == []


POSTGRES_CONNECTION = {
    "connection_type": "database",
    "engine": "postgresql",
    "host": "127.0.0.1",
    "port": 5432,
    "database": "test",
    "user": {"env_key": "DB_USER"},
    "password": {"env_key": "DB_PASSWORD"},
}


def test_000s_flow_ends_healthy_for_a_postgres_database_and_tests_again_when_secrets_change(org, background_checks):
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    # Given 000's steps for a database connection to the local PostgreSQL, with a user that does not exist
    identifier = org.post(SOURCE, json=create_body("Sales DB")).json()["entity"]["identifier"]
    assert (
        org.put(
            f"{SOURCE}/connection", params={"identifier": identifier}, json={"connection": POSTGRES_CONNECTION}
        ).status_code
        == 200
    )
    secrets = {"DB_USER": "no_such_role_000", "DB_PASSWORD": "pg-000-secret"}
    assert org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json=secrets).status_code == 200

    # Then the background check fails and says why (the user named by env_key reached the server)
    failing = state_within(org, identifier)
    assert failing["code"] == "500" and failing["healthy"] is False
    assert "AUTH_FAILED" in failing["reason"] and "pg-000-secret" not in failing["reason"]

    # When the secret is corrected, the registry tests again by itself and the source becomes healthy
    secrets["DB_USER"] = "postgres"
    assert org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json=secrets).status_code == 200
    assert state_within(org, identifier, until_not="500") == {"code": "100", "reason": "Healthy.", "healthy": True}
    recorded = org.get(f"/api/v1/data-sources/{identifier}").json()
    assert recorded["failureCount"] == 0 and recorded["lastSuccessfulConnectionAt"] is not None


def test_000s_flow_ends_healthy_for_a_synthetic_connection_and_a_new_connection_is_tested_again(org, background_checks):
    identifier = org.post(SOURCE, json=create_body("Generated")).json()["entity"]["identifier"]

    configured = org.put(
        f"{SOURCE}/connection",
        params={"identifier": identifier},
        json={"connection": {"connection_type": "synthetic", "rows": 1000}},
    )

    assert configured.status_code == 200
    assert state_within(org, identifier) == {"code": "100", "reason": "Healthy.", "healthy": True}
    first = org.get(f"/api/v1/data-sources/{identifier}").json()["lastTestedAt"]

    # When the connection changes (here to a database on a closed port), it is tested again and the state follows
    closed = {**POSTGRES_CONNECTION, "port": 9, "user": "postgres", "password": {"env_key": "DB_PASSWORD"}}
    org.put(f"{SOURCE}/connection", params={"identifier": identifier}, json={"connection": closed})
    org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json={"DB_PASSWORD": "x"})
    failing = state_within(org, identifier, until_not="100")
    assert failing["code"] == "500" and "UNREACHABLE" in failing["reason"]
    assert org.get(f"/api/v1/data-sources/{identifier}").json()["lastTestedAt"] > first


def test_create_answers_in_000s_shape(org):
    created = org.post(SOURCE, json=create_body())

    assert created.status_code == 200, created.text
    body = created.json()
    identifier = body["entity"]["identifier"]
    assert body["entity"] | {"created_at": None} == {
        "identifier": identifier,
        "urn": f"urn:meshx:backend:data:root:origin:{identifier}",
        "name": "Data Source example",
        "is_system": False,
        "description": "This is an example for data source",
        "label": "DSE",
        "created_at": None,
        "state": {"code": "001", "reason": "Requires configuration.", "healthy": False},
        "owner": None,
    }
    assert body["entity"]["created_at"].endswith("Z")
    assert body["entity_info"] == create_body()["entity_info"]
    assert (body["links"], body["compute_identifier"], body["secrets"], body["connection"]) == (
        {"parents": [], "children": []},
        None,
        [],
        None,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entity": {"name": ""}}, "entity.name"),
        ({"entity": {"name": "x", "entity_type": "system"}}, "entity.entityType"),
        ({"entity": {"name": "x", "colour": "blue"}}, "entity.colour"),
        ({"entity_info": {}}, "entity"),
    ],
)
def test_bad_create_bodies_are_400_with_the_field(org, body, field):
    refused = org.post(SOURCE, json=body)

    assert refused.status_code == 400
    assert field in {e["field"] for e in refused.json()["errors"]}
    assert org.get(f"{SOURCE}/list").json() == []


def test_database_and_synthetic_connections_and_their_states(org, tenant):
    identifier = org.post(SOURCE, json=create_body()).json()["entity"]["identifier"]

    missing = org.put(
        f"{SOURCE}/connection", params={"identifier": identifier}, json={"connection": {"connection_type": "database"}}
    )
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {
        "connection.host",
        "connection.port",
        "connection.database",
    }

    database = {
        "connection_type": "database",
        "engine": "postgresql",
        "host": "db.example.com",
        "port": 5432,
        "database": "sales",
        "user": {"env_key": "DB_USER"},
        "password": {"env_key": "DB_PASSWORD"},
    }
    configured = org.put(f"{SOURCE}/connection", params={"identifier": identifier}, json={"connection": database})
    assert configured.status_code == 200, configured.text
    assert configured.json()["connection"] == database
    assert configured.json()["entity"]["state"]["code"] == "002"

    synthetic = org.put(
        f"{SOURCE}/connection",
        params={"identifier": identifier},
        json={"connection": {"connection_type": "synthetic", "rows": 1000}},
    )
    # Then the new connection replaced the old: no database fields and no secrets left to provide
    assert synthetic.json()["connection"] == {"connection_type": "synthetic", "rows": 1000}
    assert synthetic.json()["entity"]["state"]["code"] == "003"

    record_test_outcome(tenant, identifier, ok=False)
    assert state(org, identifier) == {
        "code": "500",
        "reason": "Connection failing: connection refused.",
        "healthy": False,
    }


def test_secrets_go_to_secrets_manager_and_must_match_env_keys(org, tenant):
    identifier = org.post(SOURCE, json=create_body()).json()["entity"]["identifier"]
    org.put(f"{SOURCE}/connection", params={"identifier": identifier}, json=S3_CONNECTION)

    typo = org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json={"S3_ACESS_KEY": "x"})
    assert typo.status_code == 400 and typo.json()["errors"][0]["field"] == "S3_ACESS_KEY"
    assert org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json={"S3_ACCESS_KEY": 5}).status_code == 400

    partial = org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json={"S3_ACCESS_KEY": "AKIA-ONE"})
    assert partial.json()["entity"]["state"] == {"code": "002", "reason": "Requires secrets.", "healthy": False}
    done = org.post(f"{SOURCE}/secret", params={"identifier": identifier}, json={"S3_SECRET_KEY": "s3cr3t-value"})

    assert done.json()["secrets"] == ["S3_ACCESS_KEY", "S3_SECRET_KEY"]
    assert "s3cr3t-value" not in done.text
    source = services().data_sources.get(_principal(tenant), identifier)
    assert services().data_sources.credentials_of(source) == {
        "S3_ACCESS_KEY": "AKIA-ONE",
        "S3_SECRET_KEY": "s3cr3t-value",
    }


def _principal(tenant):
    from datasource_registry.domain.principal import Principal
    from datasource_registry.domain.types import Role

    return Principal("test", tenant, Role.VIEWER)


def test_data_systems_create_list_get_delete_and_links_on_both_sides(org):
    system = org.post(SYSTEM, json={"entity": {"name": "Warehouse", "label": "WH"}, "entity_info": {"owner": "a@b.c"}})
    assert system.status_code == 200, system.text
    system_id = system.json()["entity"]["identifier"]
    assert system.json()["entity"]["urn"] == f"urn:meshx:backend:data:root:system:{system_id}"
    assert system.json()["entity"]["is_system"] is True
    first = org.post(SOURCE, json=create_body("First")).json()["entity"]["identifier"]
    second = org.post(SOURCE, json=create_body("Second")).json()["entity"]["identifier"]

    for child in (first, second, first):  # linking twice is harmless
        assert org.post(LINK, params={"identifier": system_id, "child_identifier": child}).status_code == 200

    assert org.get(SYSTEM, params={"identifier": system_id}).json()["links"]["children"] == [first, second]
    assert org.get(SOURCE, params={"identifier": first}).json()["links"]["parents"] == [system_id]
    assert [s["entity"]["identifier"] for s in org.get(f"{SYSTEM}/list").json()] == [system_id]
    assert org.post(LINK, params={"identifier": system_id, "child_identifier": "ds_nosuch"}).status_code == 404
    assert org.post(LINK, params={"identifier": system_id}).status_code == 400

    # When the system is deleted, its sources stay and no longer name it
    assert org.delete(SYSTEM, params={"identifier": system_id}).json() == {"identifier": system_id, "deleted": True}
    assert org.get(SYSTEM, params={"identifier": system_id}).status_code == 404
    assert org.get(SOURCE, params={"identifier": second}).json()["links"]["parents"] == []
    assert org.get(f"{SYSTEM}/list").json() == []


ROUTES = [
    ("POST", SOURCE, {}, create_body()),
    ("GET", f"{SOURCE}/list", {}, None),
    ("GET", SOURCE, {"identifier": "ID"}, None),
    ("PUT", SOURCE, {"identifier": "ID"}, {"entity": {"description": "changed"}}),
    ("PUT", f"{SOURCE}/connection", {"identifier": "ID"}, S3_CONNECTION),
    ("POST", f"{SOURCE}/secret", {"identifier": "ID"}, {"S3_ACCESS_KEY": "x"}),
    ("DELETE", SOURCE, {"identifier": "ID"}, None),
    ("POST", SYSTEM, {}, {"entity": {"name": "S"}}),
    ("GET", f"{SYSTEM}/list", {}, None),
    ("GET", SYSTEM, {"identifier": "SYS"}, None),
    ("DELETE", SYSTEM, {"identifier": "SYS"}, None),
    ("POST", LINK, {"identifier": "SYS", "child_identifier": "ID"}, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), ROUTES)
def test_x_org_must_name_the_callers_organisation(client_for, tenant, method, path, params, body):
    for x_org in ("someone-else", None):
        client = client_for("editor")
        if x_org:
            client.headers["x-org"] = x_org
        refused = client.request(method, path, params=params, json=body)

        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith(":forbidden")


@pytest.mark.parametrize(
    ("method", "path", "params", "body"), [r for r in ROUTES if "ID" in r[2].values() or "SYS" in r[2].values()]
)
def test_another_tenants_ids_answer_404_and_nothing_changes(org, client_for, method, path, params, body):
    # Given a linked source and system in the test's tenant
    identifier = org.post(SOURCE, json=create_body()).json()["entity"]["identifier"]
    org.put(f"{SOURCE}/connection", params={"identifier": identifier}, json=S3_CONNECTION)
    system_id = org.post(SYSTEM, json={"entity": {"name": "S"}}).json()["entity"]["identifier"]
    org.post(LINK, params={"identifier": system_id, "child_identifier": identifier})
    before = (
        org.get(SOURCE, params={"identifier": identifier}).json(),
        org.get(SYSTEM, params={"identifier": system_id}).json(),
    )
    stranger = client_for("admin", tenant_id="t_stranger_000")
    stranger.headers["x-org"] = "t_stranger_000"
    mine = {name: value.replace("SYS", system_id).replace("ID", identifier) for name, value in params.items()}

    answer = stranger.request(method, path, params=mine, json=body)

    assert answer.status_code == 404, answer.text
    after = (
        org.get(SOURCE, params={"identifier": identifier}).json(),
        org.get(SYSTEM, params={"identifier": system_id}).json(),
    )
    assert after == before


def test_viewers_read_but_do_not_write(client_for, org, tenant):
    identifier = org.post(SOURCE, json=create_body()).json()["entity"]["identifier"]
    viewer = client_for("viewer")
    viewer.headers["x-org"] = tenant

    assert viewer.get(SOURCE, params={"identifier": identifier}).status_code == 200
    assert viewer.post(SOURCE, json=create_body("Another")).status_code == 403
    assert viewer.put(SOURCE, params={"identifier": identifier}, json={"entity": {"name": "y"}}).status_code == 403
    assert viewer.delete(SOURCE, params={"identifier": identifier}).status_code == 403


def test_an_idempotent_retry_returns_the_first_answer(org):
    first = org.post(SOURCE, json=create_body(), headers={"idempotency-key": "create-orders-1"})
    retry = org.post(SOURCE, json=create_body(), headers={"idempotency-key": "create-orders-1"})

    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(org.get(f"{SOURCE}/list").json()) == 1
    other = org.post(SOURCE, json=create_body("Other"), headers={"idempotency-key": "create-orders-1"})
    assert other.status_code == 422 and json.loads(other.text)["type"].endswith(":idempotency-key-reused")
