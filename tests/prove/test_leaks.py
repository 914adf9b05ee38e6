"""Credential values never leave Secrets Manager: not in a response, a log line, an exception or a DynamoDB item."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.prove.conftest import scan
from tests.prove.harness import (
    MARKER,
    create_body,
    marked_credentials,
    new_source,
    readable,
    routes,
    sample,
    table_items,
    tenant_secrets,
)


def _call_every_route(api: httpx.Client, tag: str) -> dict[str, Any]:
    """Every route called on sources whose every credential field holds the marker; returns one more such source."""
    source = new_source(api, tag)
    for n, route in enumerate(routes()):
        sample(route).build(new_source(api, f"{tag}-{n}"), 100 + n).send(api)
        stale = sample(route).build(source, 200 + n)
        if isinstance(stale.json, dict) and "rowVersion" in stale.json:
            stale.json["rowVersion"] = 999  # a 409 carries `current`: it must not carry credentials
            stale.send(api)
    return source


def test_every_route_with_marked_credentials_leaks_nothing(local_api, client_for, tenant):
    # Given sources whose every credential field holds the marker
    api = client_for("editor")
    # When every route is called on them, well and badly (the conftest scans every body and log line)
    source = _call_every_route(api, "leak")
    for bad in (
        {"key": source["key"], "credentials": {"password": MARKER, "bogus": MARKER}},
        {"key": source["key"], "credentials": {"password": 12345, "apiKey": MARKER}},
        {"key": source["key"], "credentials": [MARKER]},
    ):
        assert api.put("/api/v1/data-sources", json=bad).status_code == 400
    broken = json.dumps({"key": source["key"], "credentials": marked_credentials("x")})[:-5]
    answer = api.put("/api/v1/data-sources", content=broken, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    # Then the credentials are stored where they belong (so the scans below could find them if they leaked)
    assert tenant_secrets(local_api.aws, tenant)
    stored = local_api.aws.client("secretsmanager").get_secret_value(
        SecretId=next(iter(tenant_secrets(local_api.aws, tenant)))
    )["SecretString"]
    assert MARKER in stored


def test_the_configuration_history_holds_secrets_as_names_only(local_api, client_for, tenant):
    # Given a source whose every string field that may carry a secret carries the marker, changed, restored, deleted
    api = client_for("editor")
    body = create_body(
        "history",
        connectionString=f"postgresql://app:{MARKER}-url@db.example.com:5432/prod?sslmode=require",
        sourceConfig={"apiToken": f"{MARKER}-doc", "url": f"https://u:{MARKER}-in-url@api.example.com/x"},
        metadata={"secretKey": f"{MARKER}-meta", "note": "kept"},
    )
    created = api.post("/api/v1/data-sources", json=body)
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    changed = {
        "key": created.json()["key"],
        "credentials": marked_credentials("history-2"),
        "sourceConfig": {"apiToken": f"{MARKER}-doc-2"},
        "connectionString": f"postgresql://app:{MARKER}-url-2@db2.example.com:5432/prod",
    }
    assert api.put("/api/v1/data-sources", json=changed).status_code == 200
    base = f"/api/v1/data-sources/{source_id}/revisions"
    assert api.post(f"{base}/1/restore").status_code == 200
    public = {"description": "p", "password": f"{MARKER}-public-history"}
    assert api.patch(f"/api/public/v1/data-sources/{source_id}", json=public).status_code == 200
    assert api.delete(f"/rivergen/api/v1/data-sources/{source_id}").status_code == 200
    # When every history route reads it (the conftest scans every body and log line)
    listed = api.get(base, params={"limit": "100"})
    numbers = [revision["number"] for revision in listed.json()["data"]]
    assert numbers == [5, 4, 3, 2, 1]
    shown = [api.get(f"{base}/{n}") for n in numbers]
    assert all(revision.status_code == 200 for revision in shown)
    assert api.get(f"{base}/diff", params={"from": "1", "to": "5"}).status_code == 200
    assert api.get("/api/v1/audit-events", params={"limit": "100"}).status_code == 200
    # Then the history says what changed, by name; and its items hold the redacted text (so the item scan below
    # reads the gzip'd revisions: it would find the marker there)
    assert {"field": "credentials.password", "credential": "changed"} in shown[3].json()["changes"]
    assert "********" in shown[4].json()["configuration"]["connectionString"]
    stored = [item for item in table_items(local_api.aws, tenant) if item["sk"]["S"].startswith(f"REV#{source_id}")]
    assert len(stored) == 5 and all("********" in readable(item["body"]["B"]) for item in stored)
    for item in stored:
        scan(json.dumps(item, default=readable), "a revision item")


def test_no_dynamodb_item_holds_a_credential_value(local_api, client_for, tenant):
    # Given a tenant of its own whose every route was called with marked credentials (alone, this test still has
    # something to scan; in the module it also scans what the test above stored)
    _call_every_route(client_for("editor"), "item")
    assert any(MARKER in _secret_string(local_api, arn) for arn in tenant_secrets(local_api.aws, tenant))
    # When every item of the table is scanned, Then no item holds the marker
    items = table_items(local_api.aws)
    for item in items:
        scan(json.dumps(item, default=readable), "a DynamoDB item")
    # And the scan covered this tenant's records (each pointing at its secret), markers, counter and snapshots
    own = [item for item in items if item["pk"]["S"] == f"T#{tenant}"]
    kinds = {item["sk"]["S"].split("#")[0] for item in own}
    assert {"DS", "KEY", "NAME", "COUNT"} <= kinds, kinds
    records = [json.loads(item["doc"]["S"]) for item in own if item["sk"]["S"].startswith("DS#")]
    assert len(records) > len(routes()), "fewer records than the routes that were called"
    assert sum(bool(record.get("secret_arn")) for record in records) > len(routes()) // 2
    assert any(isinstance(value, dict) and "B" in value for item in own for value in item.values()), "no snapshot"


def _secret_string(local_api: Any, arn: str) -> str:
    return str(local_api.aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
