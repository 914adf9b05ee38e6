"""Credential values never leave Secrets Manager: not in a response, a log line, an exception or a DynamoDB item."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.prove.conftest import scan
from tests.prove.harness import MARKER, marked_credentials, new_source, routes, sample, table_items, tenant_secrets


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


def test_no_dynamodb_item_holds_a_credential_value(local_api, client_for, tenant):
    # Given a tenant of its own whose every route was called with marked credentials (alone, this test still has
    # something to scan; in the module it also scans what the test above stored)
    _call_every_route(client_for("editor"), "item")
    assert any(MARKER in _secret_string(local_api, arn) for arn in tenant_secrets(local_api.aws, tenant))
    # When every item of the table is scanned, Then no item holds the marker
    items = table_items(local_api.aws)
    for item in items:
        scan(json.dumps(item, default=_readable), "a DynamoDB item")
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


def _readable(value: object) -> str:
    """Binary attributes (gzip'd schema chunks) are scanned as the text they hold."""
    if isinstance(value, bytes):
        import gzip

        try:
            return gzip.decompress(value).decode(errors="replace")
        except OSError:
            return value.decode(errors="replace")
    raise TypeError(type(value).__name__)
