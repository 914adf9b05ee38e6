"""Credential values never leave Secrets Manager: not in a response, a log line, an exception or a DynamoDB item."""

from __future__ import annotations

import json

from tests.prove.conftest import scan
from tests.prove.harness import MARKER, marked_credentials, new_source, routes, sample, table_items, tenant_secrets


def test_every_route_with_marked_credentials_leaks_nothing(local_api, client_for, tenant):
    # Given sources whose every credential field holds the marker
    api = client_for("editor")
    source = new_source(api, "leak")
    # When every route is called on them, well and badly (the conftest scans every body and log line)
    for n, route in enumerate(routes()):
        sample(route).build(new_source(api, f"leak-{n}"), 100 + n).send(api)
        stale = sample(route).build(source, 200 + n)
        if isinstance(stale.json, dict) and "rowVersion" in stale.json:
            stale.json["rowVersion"] = 999  # a 409 carries `current`: it must not carry credentials
            stale.send(api)
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


def test_no_dynamodb_item_holds_a_credential_value(local_api):
    # Given everything the suite stored so far (every tenant), Then no item holds the marker
    for item in table_items(local_api.aws):
        scan(json.dumps(item, default=_readable), "a DynamoDB item")


def _readable(value: object) -> str:
    """Binary attributes (gzip'd schema chunks) are scanned as the text they hold."""
    if isinstance(value, bytes):
        import gzip

        try:
            return gzip.decompress(value).decode(errors="replace")
        except OSError:
            return value.decode(errors="replace")
    raise TypeError(type(value).__name__)
