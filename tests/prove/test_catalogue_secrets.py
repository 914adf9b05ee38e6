"""Every field the connector catalogue marks secret goes to Secrets Manager: planted markers never come back in an
answer (canonical, 001 and 002 dialects), a log line or a DynamoDB item, and Secrets Manager holds each of them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from datasource_registry.domain import catalogue
from datasource_registry.secret_parts import PLACEHOLDER
from tests.prove.conftest import scan
from tests.prove.harness import MARKER, secret_values, table_items, tenant_secrets

WITH_SECRETS = [entry for entry in catalogue.catalogue().values() if entry.secret_fields]


def _marked(entry: catalogue.ConnectorType, n: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The type's example with the marker in each secret field; and where each marker should be kept."""
    body = copy.deepcopy(entry.example)
    body["name"] = f"{body['name']} {n}"
    expected: dict[str, str] = {}
    for path in entry.secret_fields:
        section, _, name = path.partition(".")
        value = f"{MARKER}-{name}-{n}"
        body.setdefault(section, {})[name] = value
        expected[path if section == "sourceConfig" else _credential_name(name)] = value
    return body, expected


def _credential_name(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


@pytest.mark.parametrize("entry", WITH_SECRETS, ids=[e.key for e in WITH_SECRETS])
def test_each_marked_secret_field_goes_to_secrets_manager_and_nowhere_else(local_api, client_for, tenant, entry):
    api = client_for("editor")
    # Given a source of this type whose every catalogue-marked secret field holds the marker
    body, expected = _marked(entry, "1")
    created = api.post("/api/v1/data-sources", json=body)
    assert created.status_code == 201, created.text
    source = created.json()
    # When it is read in every dialect, listed, updated with new secrets and (planned types) tested
    for setting in (s for s in entry.settings if s.secret):
        assert source["sourceConfig"][setting.name] == PLACEHOLDER
    api.get(f"/api/v1/data-sources/{source['id']}").raise_for_status()
    api.get("/api/v1/data-sources", params={"limit": "100"}).raise_for_status()
    api.get(f"/rivergen/api/v1/data-sources/{source['id']}").raise_for_status()
    api.get(f"/api/public/v1/data-sources/{source['id']}").raise_for_status()
    changed, expected = _marked(entry, "2")
    changed.pop("name")
    updated = api.put("/api/v1/data-sources", json={"key": source["key"], **changed})
    assert updated.status_code == 200, updated.text
    if not entry.capabilities.test:
        tested = api.post(f"/api/v1/data-sources/{source['id']}/test-connection")
        assert tested.status_code == 200 and tested.json()["errorCode"] == "UNSUPPORTED", tested.text
    # Then Secrets Manager holds every new value (so the scans below could find a leak) ...
    record = next(
        json.loads(i["doc"]["S"]) for i in table_items(local_api.aws, tenant) if i["sk"]["S"] == f"DS#{source['id']}"
    )
    assert tenant_secrets(local_api.aws, tenant)
    held = secret_values(local_api.aws, record["secret_arn"], record["secret_version"])
    for name, value in expected.items():
        assert held.get(name) == value, (name, sorted(held))
    # ... and no DynamoDB item of the tenant holds any marker (answers and log lines are scanned by the conftest)
    for item in table_items(local_api.aws, tenant):
        scan(json.dumps(item, default=str), "a DynamoDB item")
