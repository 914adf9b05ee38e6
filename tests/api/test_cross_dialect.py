"""One data source, three dialects: what one writes the others read in their own shape; rowVersion +1 per write."""

from __future__ import annotations

import pytest

CANONICAL = "/api/v1/data-sources"
PUBLIC = "/api/public/v1/data-sources"
FOUNDATION = "/api/data/data_source"


@pytest.fixture
def org(client_for, tenant):
    client = client_for("editor")
    client.headers["x-org"] = tenant
    return client


def versions(api, org, identifier):
    """rowVersion as the canonical and public dialects report it (000 has no rowVersion)."""
    canonical = api.get(f"{CANONICAL}/{identifier}").json()["rowVersion"]
    public = api.get(f"{PUBLIC}/{identifier}").json()["data"]["rowVersion"]
    assert canonical == public
    return canonical


def test_created_in_foundation_read_and_updated_in_the_others(api, org):
    # Given a source created in the Foundation dialect
    created = org.post(FOUNDATION, json={"entity": {"name": "Orders", "label": "ORD", "description": "orders"}})
    identifier = created.json()["entity"]["identifier"]
    assert versions(api, org, identifier) == 1

    # When the Public dialect patches it and the canonical dialect updates it
    patched = api.patch(f"{PUBLIC}/{identifier}", json={"description": "Orders, daily", "region": "eu-west-1"})
    assert patched.status_code == 200 and versions(api, org, identifier) == 2
    put = api.put(
        CANONICAL, json={"key": api.get(f"{CANONICAL}/{identifier}").json()["key"], "rowVersion": 2, "tags": ["sales"]}
    )
    assert put.status_code == 200 and versions(api, org, identifier) == 3
    org.put(
        f"{FOUNDATION}/connection",
        params={"identifier": identifier},
        json={"connection": {"connection_type": "synthetic"}},
    )
    assert versions(api, org, identifier) == 4

    # Then each dialect shows every change in its own shape
    foundation = org.get(FOUNDATION, params={"identifier": identifier}).json()
    assert foundation["entity"]["description"] == "Orders, daily"
    assert foundation["entity"]["label"] == "ORD"
    assert foundation["connection"] == {"connection_type": "synthetic"}
    canonical = api.get(f"{CANONICAL}/{identifier}").json()
    assert (canonical["description"], canonical["tags"], canonical["type"]) == ("Orders, daily", ["sales"], "synthetic")
    public = api.get(f"{PUBLIC}/{identifier}").json()["data"]
    assert (public["description"], public["databaseType"]) == ("Orders, daily", "synthetic")
    assert public["region"] is None  # 000's PUT connection replaces the whole connection, region included


def test_created_in_public_read_in_foundation_and_canonical_with_one_set_of_secrets(api, org):
    created = api.post(
        PUBLIC,
        json={
            "name": "Warehouse",
            "databaseType": "postgresql",
            "host": "db.example.com",
            "port": "5432",
            "databaseName": "wh",
            "userName": "etl",
            "password": "pw-123",
        },
    ).json()["data"]

    canonical = api.get(f"{CANONICAL}/{created['id']}").json()
    assert canonical["credentials"] == {"configured": ["password", "username"]}
    assert (canonical["port"], canonical["databaseName"]) == (5432, "wh")
    foundation = org.get(FOUNDATION, params={"identifier": created["id"]}).json()
    assert foundation["entity"]["name"] == "Warehouse"
    assert foundation["connection"] == {
        "connection_type": "database",
        "engine": "postgresql",
        "host": "db.example.com",
        "port": 5432,
        "database": "wh",
    }
    assert foundation["secrets"] == ["password", "username"]
    assert foundation["entity"]["state"]["code"] == "003"

    # A Foundation update is one write, seen by the others
    org.put(FOUNDATION, params={"identifier": created["id"]}, json={"entity": {"name": "Warehouse EU"}})
    assert api.get(f"{PUBLIC}/{created['id']}").json()["data"]["name"] == "Warehouse EU"
    assert versions(api, org, created["id"]) == 2
    # Linking to a data system is a write to the source too
    system = org.post("/api/data/data_system", json={"entity": {"name": "Core"}}).json()["entity"]["identifier"]
    org.post("/api/data/link/data_system/data_source", params={"identifier": system, "child_identifier": created["id"]})
    assert versions(api, org, created["id"]) == 3
    # A stale If-Match from before the link is refused, whichever dialect wrote last
    assert api.patch(f"{PUBLIC}/{created['id']}", json={"note": "x"}, headers={"if-match": '"2"'}).status_code == 409


def test_created_in_canonical_listed_by_the_others_and_deleted_in_foundation(api, org):
    created = api.post(CANONICAL, json={"name": "crm-export", "connectorKey": "salesforce"}).json()

    assert [s["entity"]["identifier"] for s in org.get(f"{FOUNDATION}/list").json()] == [created["id"]]
    assert [s["id"] for s in api.post(f"{PUBLIC}/filter", json={"resourceNames": ["crm-*"]}).json()["data"]] == [
        created["id"]
    ]
    assert org.delete(FOUNDATION, params={"identifier": created["id"]}).status_code == 200
    assert api.get(f"{CANONICAL}/{created['id']}").status_code == 404
    assert api.get(f"{PUBLIC}/{created['id']}").status_code == 404


def test_canonical_create_honours_an_idempotency_key(api):
    body = {"name": "Idempotent source", "connectorKey": "salesforce"}
    first = api.post(CANONICAL, json=body, headers={"idempotency-key": "k-1"})
    retry = api.post(CANONICAL, json=body, headers={"idempotency-key": "k-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"] and retry.headers["idempotent-replayed"] == "true"
    assert api.get(CANONICAL).json()["pagination"]["total"] == 1
    reused = api.post(CANONICAL, json={**body, "name": "Other"}, headers={"idempotency-key": "k-1"})
    assert reused.status_code == 422 and reused.headers["content-type"] == "application/problem+json"
    assert api.post(CANONICAL, json=body, headers={"idempotency-key": "x" * 256}).status_code == 400
    # A refused create is not remembered: fixing the body and retrying with the same key works
    refused = api.post(CANONICAL, json={"name": ""}, headers={"idempotency-key": "k-2"})
    assert refused.status_code == 400
    fixed = api.post(CANONICAL, json={"name": "Fixed"}, headers={"idempotency-key": "k-2"})
    assert fixed.status_code == 201
