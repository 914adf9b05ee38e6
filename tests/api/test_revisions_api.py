"""Configuration history over a real socket: revisions, diff, restore and the audit trail, in every dialect."""

from __future__ import annotations

import json
import os

from tests.conftest import postgres_body

BASE = "/api/v1/data-sources"


def _revisions(api, source_id: str) -> list[dict]:
    response = api.get(f"{BASE}/{source_id}/revisions", params={"limit": "100"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_create_and_update_write_numbered_revisions_with_who_when_and_request_id(api):
    created = api.post(BASE, json=postgres_body()).json()
    updated = api.put(
        BASE,
        json={"key": created["key"], "port": 6543, "credentials": {"password": "rotated-secret"}, "rowVersion": 1},
    )
    assert updated.status_code == 200, updated.text

    revisions = _revisions(api, created["id"])

    assert [r["number"] for r in revisions] == [2, 1]  # newest first; n is the rowVersion it made
    assert [r["action"] for r in revisions] == ["updated", "created"]
    assert all(r["actor"] and r["requestId"] and r["at"].endswith("Z") for r in revisions)
    assert revisions[0]["requestId"] != revisions[1]["requestId"]
    assert revisions[0]["changes"] == [
        {"field": "credentials.password", "credential": "changed"},
        {"field": "port", "before": 5432, "after": 6543},
    ]
    assert {"field": "credentials.username", "credential": "added"} in revisions[1]["changes"]
    assert "rotated-secret" not in str(revisions) and "securepassword" not in str(revisions)


def test_a_revision_holds_the_whole_configuration_with_secrets_as_names_and_strings_redacted(api):
    created = api.post(
        BASE,
        json={
            "name": "By URL",
            "type": "postgresql",
            "connectionString": "postgresql://app:url-secret-1@db.example.com:5432/prod?sslmode=require",
            "sourceConfig": {"token": "doc-secret-1", "table": "orders"},
        },
    ).json()

    revision = api.get(f"{BASE}/{created['id']}/revisions/1")

    assert revision.status_code == 200, revision.text
    configuration = revision.json()["configuration"]
    assert configuration["name"] == "By URL" and configuration["key"] == created["key"]
    assert configuration["connectionString"] == created["connectionString"]  # the redacted text the view shows
    assert configuration["sourceConfig"] == created["sourceConfig"]
    assert "url-secret-1" not in revision.text and "doc-secret-1" not in revision.text
    assert set(configuration["credentials"]) >= {"password"}


def test_diff_names_the_fields_and_credentials_that_changed_between_two_revisions(api):
    created = api.post(BASE, json=postgres_body()).json()
    api.put(BASE, json={"key": created["key"], "description": "first", "rowVersion": 1})
    api.put(BASE, json={"key": created["key"], "credentials": {"password": "p2"}, "rowVersion": 2})
    api.put(BASE, json={"key": created["key"], "host": "db2.example.com", "rowVersion": 3})

    diff = api.get(f"{BASE}/{created['id']}/revisions/diff", params={"from": "1", "to": "4"})

    assert diff.status_code == 200, diff.text
    assert diff.json()["changes"] == [
        {"field": "credentials.password", "credential": "changed"},
        {"field": "description", "before": "", "after": "first"},
        {"field": "host", "before": "db.example.com", "after": "db2.example.com"},
    ]
    backwards = api.get(f"{BASE}/{created['id']}/revisions/diff", params={"from": "3", "to": "1"})
    assert backwards.status_code == 400
    missing = api.get(f"{BASE}/{created['id']}/revisions/diff", params={"from": "1", "to": "9"})
    assert missing.status_code == 404


def test_restore_writes_a_new_revision_equal_to_n_and_brings_the_secret_version_back(api, local_api):
    created = api.post(BASE, json=postgres_body()).json()
    api.put(
        BASE,
        json={"key": created["key"], "port": 6543, "credentials": {"password": "second"}, "rowVersion": 1},
    )

    stale = api.post(f"{BASE}/{created['id']}/revisions/1/restore", headers={"if-match": '"1"'})
    assert stale.status_code == 409
    restored = api.post(f"{BASE}/{created['id']}/revisions/1/restore", headers={"if-match": '"2"'})

    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert (body["rowVersion"], body["revision"]["number"], body["revision"]["action"]) == (3, 3, "restored")
    assert body["revision"]["restoredFrom"] == 1 and body["credentialsToSetAgain"] == []
    assert restored.headers["etag"] == '"3"'
    first = api.get(f"{BASE}/{created['id']}/revisions/1").json()["configuration"]
    assert body["revision"]["configuration"] == first
    source = api.get(f"{BASE}/{created['id']}").json()
    assert source["port"] == 5432
    # The secret in force is the create's again (read back through the registry's own record).
    item = local_api.aws.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": f"T#{created['tenantId']}"}, "sk": {"S": f"DS#{created['id']}"}},
    )["Item"]
    doc = json.loads(item["doc"]["S"])
    secret = local_api.aws.client("secretsmanager").get_secret_value(
        SecretId=doc["secret_arn"], VersionId=doc["secret_version"]
    )
    assert json.loads(secret["SecretString"])["password"] == "securepassword"


def test_a_deleted_sources_revisions_stay_readable_by_id_with_a_last_deleted_revision(api):
    created = api.post(BASE, json=postgres_body()).json()
    assert api.delete(BASE, params={"key": created["key"]}).status_code == 204

    revisions = _revisions(api, created["id"])

    assert [(r["number"], r["action"]) for r in revisions] == [(2, "deleted"), (1, "created")]
    assert api.get(f"{BASE}/{created['id']}/revisions/2").json()["configuration"]["name"] == created["name"]
    restore = api.post(f"{BASE}/{created['id']}/revisions/1/restore")
    assert restore.status_code == 404


def test_revisions_page_newest_first_with_a_cursor(api):
    created = api.post(BASE, json=postgres_body()).json()
    for version in range(1, 6):
        api.put(BASE, json={"key": created["key"], "description": f"d{version}", "rowVersion": version})

    seen: list[int] = []
    params = {"limit": "2"}
    while True:
        page = api.get(f"{BASE}/{created['key']}/revisions", params=params).json()
        seen += [r["number"] for r in page["data"]]
        if not page["pagination"]["hasMore"]:
            break
        params = {"limit": "2", "cursor": page["pagination"]["nextCursor"]}

    assert seen == [6, 5, 4, 3, 2, 1]
    assert api.get(f"{BASE}/{created['id']}/revisions", params={"cursor": "bm9wZQ"}).status_code == 400


def test_every_dialect_and_route_writes_revisions_and_registry_writes_do_not(api, client_for):
    created = api.post(BASE, json=postgres_body()).json()
    org = {"x-org": created["tenantId"]}
    assert api.post(f"{BASE}/{created['id']}/test-connection").status_code == 200  # the registry's own write
    public = api.patch(
        f"/api/public/v1/data-sources/{created['id']}", json={"description": "public"}, headers={"if-match": '"1"'}
    )
    assert public.status_code == 200, public.text
    rivergen = api.put(f"/rivergen/api/v1/data-sources/{created['id']}", json={"description": "rivergen"})
    assert rivergen.status_code == 200, rivergen.text
    foundation = api.put(
        "/api/data/data_source",
        params={"identifier": created["id"]},
        json={"entity": {"description": "fdn"}},
        headers=org,
    )
    assert foundation.status_code == 200, foundation.text
    system = api.post("/api/data/data_system", json={"entity": {"name": "Sys"}}, headers=org).json()
    linked = api.post(
        "/api/data/link/data_system/data_source",
        params={"identifier": system["entity"]["identifier"], "child_identifier": created["id"]},
        headers=org,
    )
    assert linked.status_code == 200, linked.text

    revisions = _revisions(api, created["id"])

    assert [r["action"] for r in revisions] == ["linked", "updated", "updated", "updated", "created"]
    assert api.get(f"{BASE}/{created['id']}").json()["rowVersion"] == 5
    assert revisions[0]["changes"][0]["field"] == "systemIds"


def test_the_audit_trail_names_every_secret_read_by_the_registry_with_the_caller_and_request_id(api):
    created = api.post(BASE, json=postgres_body()).json()
    unsecured = api.post(BASE, json=postgres_body("No secret", credentials={}))
    assert unsecured.status_code == 201, unsecured.text

    tested = api.post(f"{BASE}/{created['id']}/test-connection")
    api.post(f"{BASE}/{unsecured.json()['id']}/test-connection")  # nothing secret to read: no line

    assert tested.status_code == 200
    reads = [e for e in api.get("/api/v1/audit-events").json()["data"] if e["action"] == "secret-read"]
    assert [(e["dataSourceId"], e["revision"]) for e in reads] == [(created["id"], 1)]
    assert reads[0]["fields"] == ["credentials.password read", "credentials.username read"]
    assert reads[0]["actor"] and reads[0]["requestId"]
    assert "securepassword" not in str(reads)


def test_the_audit_trail_lists_every_write_of_the_tenant_with_actor_and_request_id(api, client_for):
    first = api.post(BASE, json=postgres_body()).json()
    second = api.post(BASE, json=postgres_body("Second")).json()
    api.put(BASE, json={"key": first["key"], "credentials": {"password": "x-rotated"}, "rowVersion": 1})
    api.delete(BASE, params={"key": second["key"]})

    events = api.get("/api/v1/audit-events", params={"limit": "2"})
    assert events.status_code == 200, events.text
    page = events.json()
    rest = api.get("/api/v1/audit-events", params={"cursor": page["pagination"]["nextCursor"]}).json()
    everything = page["data"] + rest["data"]

    everything = [e for e in everything if e["action"] != "secret-read"]
    assert [(e["dataSourceId"], e["action"]) for e in everything] == [
        (first["id"], "created"),
        (second["id"], "created"),
        (first["id"], "updated"),
        (second["id"], "deleted"),
    ]
    assert everything[2]["fields"] == ["credentials.password changed"]
    assert all(e["actor"] and e["requestId"] for e in everything)
    assert "x-rotated" not in events.text + str(rest)
    later = api.get("/api/v1/audit-events", params={"since": everything[3]["at"]}).json()["data"]
    assert [e["action"] for e in later] == ["deleted"]
    assert client_for("viewer").get("/api/v1/audit-events").status_code == 200
    assert client_for("editor", tenant_id="t_other_audit").get("/api/v1/audit-events").json()["data"] == []
    assert api.get("/api/v1/audit-events", params={"since": "yesterday"}).status_code == 400
