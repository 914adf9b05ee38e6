"""The Public v1 dialect (002) under /api/public/v1/data-sources over a real socket, on the local stack."""

from __future__ import annotations

import pytest

from datasource_registry.domain.principal import Principal
from datasource_registry.domain.types import Role
from datasource_registry.runtime import services
from datasource_registry.secret_parts import PLACEHOLDER

BASE = "/api/public/v1/data-sources"


def pg(name="prod-postgres-primary", **extra):
    return {
        "name": name,
        "databaseType": "postgresql",
        "host": "db.example.com",
        "port": "5432",
        "databaseName": "production",
        "userName": "dbuser",
        "password": "securepassword",
        **extra,
    }


def stored_credentials(tenant, identifier):
    principal = Principal("test", tenant, Role.VIEWER)
    source = services().data_sources.get(principal, identifier)
    return services().data_sources.credentials_of(source)


def create(api, body):
    answer = api.post(BASE, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_create_one_answers_in_002s_envelope_without_secrets(api, tenant):
    answer = api.post(BASE, json=pg(includePatterns=["public.*"], note="primary", incremental=True))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == 200
    data = answer.json()["data"]
    assert (data["name"], data["databaseType"], data["port"], data["databaseName"]) == (
        "prod-postgres-primary",
        "postgresql",
        "5432",
        "production",
    )
    assert (data["includePatterns"], data["excludePatterns"], data["note"], data["incremental"]) == (
        ["public.*"],
        [],
        "primary",
        True,
    )
    assert data["rowVersion"] == 1 and data["id"].startswith("ds_")
    assert "securepassword" not in answer.text and "password" not in data and "userName" not in data
    assert stored_credentials(tenant, data["id"]) == {"username": "dbuser", "password": "securepassword"}


def test_create_many_gives_a_result_per_item_and_one_bad_item_sinks_nothing(api):
    answer = api.post(BASE, json=[pg("a-db"), {"name": "b-db", "port": "not-a-port"}, pg("c-db"), pg("a-db")])

    assert answer.status_code == 200, answer.text
    results = answer.json()["data"]
    assert [(r["index"], r["status"]) for r in results] == [(0, 200), (1, 400), (2, 200), (3, 409)]
    assert {e["field"] for e in results[1]["error"]["errors"]} == {"[1].port"}
    assert [r["data"]["name"] for r in results if r["status"] == 200] == ["a-db", "c-db"]
    assert "securepassword" not in answer.text
    found = api.post(f"{BASE}/filter", json={"resourceNames": ["*-db"]}).json()["data"]
    assert sorted(s["name"] for s in found) == ["a-db", "c-db"]


def test_bad_bodies_are_400_and_store_nothing(api):
    for body in (
        [],
        {"databaseType": "postgresql"},
        {"name": "x", "databaseType": "nosuchdb"},
        {"name": "x", "bogus": 1},
    ):
        assert api.post(BASE, json=body).status_code == 400, body
    both = api.post(BASE, json=pg(secretManagerKey="team/db-credentials"))
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "secretManagerKey"
    assert api.post(f"{BASE}/filter", json={"resourceNames": ["*"]}).json()["data"] == []


def test_get_by_id_and_by_ids(api, client_for):
    first, second = create(api, pg("one")), create(api, pg("two"))
    stranger = client_for("admin", tenant_id="t_stranger_002")
    theirs = create(stranger, pg("theirs"))

    got = api.get(f"{BASE}/{first['id']}")
    assert got.status_code == 200 and got.json() == {"status": 200, "data": first}
    assert got.headers["etag"] == '"1"'
    assert api.get(f"{BASE}/ds_00000000000000000000000000").status_code == 404
    assert api.get(f"{BASE}/{theirs['id']}").status_code == 404

    by_ids = api.post(f"{BASE}/by-ids", json={"ids": [second["id"], theirs["id"], first["id"], "nonsense"]})
    assert [s["id"] for s in by_ids.json()["data"]] == [second["id"], first["id"]]
    assert api.post(f"{BASE}/by-ids", json={"ids": []}).status_code == 400
    assert api.post(f"{BASE}/by-ids", json={}).status_code == 400


@pytest.fixture
def catalogue(api):
    names = {
        "prod-postgres-primary": "postgresql",
        "prod-mysql-replica": "mysql",
        "staging-postgres-primary": "postgresql",
        "my-db": "redshift",
        "analytics-lake": "s3",
    }
    created = {}
    for name, kind in names.items():
        body = {"name": name, "databaseType": kind}
        if kind == "s3":
            body["path"] = "lake/events"
        else:
            body.update(host="db.example.com", port=5439, databaseName="d")
        created[name] = create(api, body)["id"]
    return created


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"resourceNames": ["my-db"]}, ["my-db"]),
        ({"resourceNames": ["MY-DB"]}, ["my-db"]),
        ({"resourceNames": ["prod-*"]}, ["prod-postgres-primary", "prod-mysql-replica"]),
        ({"resourceNames": ["*-primary"]}, ["prod-postgres-primary", "staging-postgres-primary"]),
        ({"resourceNames": ["*postgres*"]}, ["prod-postgres-primary", "staging-postgres-primary"]),
        ({"resourceNames": ["*lake", "my-*"]}, ["my-db", "analytics-lake"]),
        ({"databaseTypes": ["postgresql"]}, ["prod-postgres-primary", "staging-postgres-primary"]),
        ({"databaseTypes": ["*sql"]}, ["prod-postgres-primary", "prod-mysql-replica", "staging-postgres-primary"]),
        ({"databaseTypes": ["red*", "s3"]}, ["my-db", "analytics-lake"]),
        ({"resourceNames": ["prod-*"], "databaseTypes": ["*sql*"]}, ["prod-postgres-primary", "prod-mysql-replica"]),
        ({"resourceNames": ["prod-*"], "databaseTypes": ["mysql"]}, ["prod-mysql-replica"]),
        ({"resourceNames": ["nothing-*"]}, []),
    ],
)
def test_filter_wildcards_exact_prefix_suffix_contains(api, catalogue, body, expected):
    found = api.post(f"{BASE}/filter", json=body)

    assert found.status_code == 200, found.text
    assert [s["name"] for s in found.json()["data"]] == expected  # oldest first


def test_filter_pages_with_skip_and_limit_and_needs_a_filter(api, catalogue, client_for):
    everything = [s["name"] for s in api.post(f"{BASE}/filter", json={"resourceNames": ["*"]}).json()["data"]]
    page = api.post(f"{BASE}/filter", params={"skip": 1, "limit": 2}, json={"resourceNames": ["*"]}).json()["data"]

    assert len(everything) == 5 and [s["name"] for s in page] == everything[1:3]
    for params in ({"limit": 0}, {"limit": 10001}, {"skip": -1}):
        assert api.post(f"{BASE}/filter", params=params, json={"resourceNames": ["*"]}).status_code == 400
    for body in ({}, {"resourceNames": []}, {"resourceNames": None, "databaseTypes": []}, {"resourceNames": "prod-*"}):
        assert api.post(f"{BASE}/filter", json=body).status_code == 400, body
    stranger = client_for("admin", tenant_id="t_stranger_filter")
    assert stranger.post(f"{BASE}/filter", json={"resourceNames": ["*"]}).json()["data"] == []


def test_patch_changes_only_given_fields_and_arrays_replace(api, tenant):
    created = create(api, pg(includePatterns=["public.*", "sales.*"], excludePatterns=["tmp.*"], note="n"))

    patched = api.patch(
        f"{BASE}/{created['id']}", json={"description": "OLTP", "includePatterns": ["billing.*"], "port": "6543"}
    )

    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["description"], data["includePatterns"], data["excludePatterns"], data["port"]) == (
        "OLTP",
        ["billing.*"],
        ["tmp.*"],
        "6543",
    )
    assert (data["host"], data["note"], data["rowVersion"]) == ("db.example.com", "n", 2)
    assert patched.headers["etag"] == '"2"'


def test_patch_sends_secrets_to_secrets_manager_or_points_at_the_users_secret(api, tenant):
    created = create(api, pg())

    rotated = api.patch(f"{BASE}/{created['id']}", json={"password": "rotated-value", "secretKey": "aws-secret"})
    assert rotated.status_code == 200 and "rotated-value" not in rotated.text and "aws-secret" not in rotated.text
    assert stored_credentials(tenant, created["id"]) == {
        "username": "dbuser",
        "password": "rotated-value",
        "secret_access_key": "aws-secret",
    }

    pointed = api.patch(f"{BASE}/{created['id']}", json={"secretManagerKey": "team/warehouse-credentials"})
    assert pointed.json()["data"]["secretManagerKey"] == "team/warehouse-credentials"
    assert api.patch(f"{BASE}/{created['id']}", json={"secretManagerKey": "bad key!"}).status_code == 400
    both = api.patch(f"{BASE}/{created['id']}", json={"secretManagerKey": "k", "password": "p"})
    assert both.status_code == 400


def test_patch_honours_if_match_and_refuses_bad_fields(api):
    created = create(api, pg())

    stale = api.patch(f"{BASE}/{created['id']}", json={"note": "x"}, headers={"if-match": '"7"'})
    assert stale.status_code == 409 and stale.json()["current"]["rowVersion"] == 1
    fresh = api.patch(f"{BASE}/{created['id']}", json={"note": "x"}, headers={"if-match": '"1"'})
    assert fresh.status_code == 200 and fresh.json()["data"]["note"] == "x"
    for body in ({"port": "http"}, {"includePatterns": "a"}, {"host": None}, {"unknown": 1}):
        refused = api.patch(f"{BASE}/{created['id']}", json=body)
        assert refused.status_code == 400, body
    assert api.get(f"{BASE}/{created['id']}").json()["data"]["rowVersion"] == 2


def test_another_tenant_gets_404_everywhere_and_changes_nothing(api, client_for):
    created = create(api, pg())
    stranger = client_for("admin", tenant_id="t_stranger_patch")

    assert stranger.get(f"{BASE}/{created['id']}").status_code == 404
    assert stranger.patch(f"{BASE}/{created['id']}", json={"note": "mine now"}).status_code == 404
    assert stranger.post(f"{BASE}/by-ids", json={"ids": [created["id"]]}).json()["data"] == []
    assert stranger.post(f"{BASE}/filter", json={"resourceNames": ["*"]}).json()["data"] == []
    assert api.get(f"{BASE}/{created['id']}").json()["data"] == created


def test_viewers_read_but_do_not_write(api, client_for):
    created = create(api, pg())
    viewer = client_for("viewer")

    assert viewer.get(f"{BASE}/{created['id']}").status_code == 200
    assert viewer.post(BASE, json=pg("x")).status_code == 403
    assert viewer.post(BASE, json=[pg("x")]).status_code == 403
    assert viewer.patch(f"{BASE}/{created['id']}", json={"note": "x"}).status_code == 403


def test_uri_passwords_are_never_returned(api):
    created = create(api, {"name": "mongo", "databaseType": "mongodb", "uri": "mongodb://app:hunter2@m.example.com/db"})

    assert created["uri"] == f"mongodb://app:{PLACEHOLDER}@m.example.com/db"
    assert "hunter2" not in api.get(f"{BASE}/{created['id']}").text


def test_bulk_create_is_safe_to_retry_with_an_idempotency_key(api, client_for):
    body = [pg("a-db"), pg("b-db")]
    first = api.post(BASE, json=body, headers={"idempotency-key": "batch-42"})
    retry = api.post(BASE, json=body, headers={"idempotency-key": "batch-42"})

    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert [r["status"] for r in retry.json()["data"]] == [200, 200]
    assert len(api.post(f"{BASE}/filter", json={"resourceNames": ["*"]}).json()["data"]) == 2
    changed = api.post(BASE, json=[pg("c-db")], headers={"idempotency-key": "batch-42"})
    assert changed.status_code == 422
    # Another tenant's identical key is its own
    other = client_for("editor", tenant_id="t_other_idem")
    theirs = other.post(BASE, json=body, headers={"idempotency-key": "batch-42"})
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert [r["status"] for r in theirs.json()["data"]] == [200, 200]
