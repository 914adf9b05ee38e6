"""The connector catalogue over a real socket: what it lists, and that the registry does what each schema says."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from datasource_registry.domain import catalogue
from datasource_registry.domain.types import DataSourceType

BASE = "/api/v1/connector-types"
ENTRIES = list(catalogue.catalogue().values())


def test_a_viewer_lists_every_type_with_its_schema_capabilities_and_example(client_for):
    # Given a viewer, When they list the catalogue
    answer = client_for("viewer").get(BASE)
    # Then every type of 001's enum, 000's and 003's connector keys is there, each with the published parts
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    by_type = {item["type"]: item for item in data}
    assert {t.value for t in DataSourceType} | {"kafka", "salesforce"} <= set(by_type)
    for item in data:
        jsonschema.Draft202012Validator.check_schema(item["configSchema"])
        assert set(item["capabilities"]) == {"test", "discover", "sshTunnel", "includeExclude"}
        expected = "supported" if item["capabilities"]["test"] else "planned"
        assert item["status"] == ("stored-only" if item["type"] == "other" else expected)
        jsonschema.validate(item["example"], item["configSchema"], cls=jsonschema.Draft202012Validator)
    assert by_type["postgresql"]["capabilities"] == {
        "test": True,
        "discover": True,
        "sshTunnel": True,
        "includeExclude": True,
    }
    assert by_type["kafka"]["family"] == "stream" and by_type["kafka"]["configuredBy"] == "connectorKey"
    assert by_type["kafka"]["capabilities"]["test"] is False and by_type["kafka"]["status"] == "planned"
    assert by_type["salesforce"]["capabilities"]["test"] is True and by_type["salesforce"]["status"] == "supported"
    secret = by_type["salesforce"]["configSchema"]["properties"]["sourceConfig"]["properties"]["clientSecret"]
    assert secret["writeOnly"] is True and secret["x-secret"] is True
    assert "sourceConfig.clientSecret" in by_type["salesforce"]["secretFields"]
    assert "credentials.password" in by_type["postgresql"]["secretFields"]


def test_the_answer_is_cacheable_and_revalidates_with_its_etag(client_for):
    viewer = client_for("viewer")
    first = viewer.get(BASE)
    assert first.headers["cache-control"] == "private, max-age=3600"
    tag = first.headers["etag"]
    # When the client revalidates its copy, Then it is still current: 304 without a body
    again = viewer.get(BASE, headers={"if-none-match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    # A copy of something else is not current
    assert viewer.get(BASE, headers={"if-none-match": '"stale"'}).status_code == 200
    one = viewer.get(f"{BASE}/postgresql")
    assert one.headers["etag"] != tag
    assert viewer.get(f"{BASE}/postgresql", headers={"if-none-match": one.headers["etag"]}).status_code == 304
    too_long = viewer.get(BASE, headers={"if-none-match": "x" * 1025})
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "If-None-Match"


def test_one_type_is_the_lists_entry_and_an_unknown_one_is_a_404_problem(client_for):
    viewer = client_for("viewer")
    listed = {item["type"]: item for item in viewer.get(BASE).json()["data"]}
    for key in ("postgresql", "kafka", "delta_lake"):
        one = viewer.get(f"{BASE}/{key}")
        assert one.status_code == 200 and one.json() == listed[key]
    missing = viewer.get(f"{BASE}/no-such-type")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["status"] == 404


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.key for e in ENTRIES])
def test_each_example_creates_a_source_and_each_required_field_is_refused_as_the_schema_says(api, client_for, entry):
    item = client_for("viewer").get(f"{BASE}/{entry.key}").json()
    schema = item["configSchema"]
    # Given the published example, When an editor creates it, Then it is accepted and configured enough to connect
    created = api.post("/api/v1/data-sources", json=item["example"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["connectorKey"] == entry.key
    assert body["state"]["code"] != "001" or not entry.is_type
    # When a field a requirement names is left out, Then the schema rejects it and so does the API, naming the field
    for requirement in entry.requires:
        if requirement.when is not None:
            continue
        for field in requirement.fields:
            broken = copy.deepcopy(item["example"])
            broken.pop(field, None)
            broken.pop("connectionString", None)
            broken["name"] = f"{broken['name']} without {field}"
            assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
            refused = api.post("/api/v1/data-sources", json=broken)
            assert refused.status_code == 400, refused.text
            assert field in {e["field"] for e in refused.json()["errors"]}
    # And a setting of the wrong type is refused by both, naming sourceConfig.<setting>
    for setting in entry.settings[:2]:
        broken = copy.deepcopy(item["example"])
        broken["name"] = f"{broken['name']} with a bad {setting.name}"
        broken.setdefault("sourceConfig", {})[setting.name] = {"not": "a scalar"}
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
        refused = api.post("/api/v1/data-sources", json=broken)
        assert refused.status_code == 400, refused.text
        assert {
            "field": f"sourceConfig.{setting.name}",
            "reason": setting.errors({"not": "a scalar"})[0],
        } in refused.json()["errors"]


def test_a_source_that_lacks_what_the_schema_needs_to_connect_requires_configuration(api, client_for):
    ready = client_for("viewer").get(f"{BASE}/s3").json()["configSchema"]["x-ready-when"]
    body = {"name": "Bucketless", "type": "s3", "sourceConfig": {"prefix": "raw/"}}
    assert not jsonschema.Draft202012Validator(ready).is_valid(body)
    created = api.post("/api/v1/data-sources", json=body)
    assert created.status_code == 201 and created.json()["state"]["code"] == "001"
    body = {"name": "Bucketed", "type": "s3", "sourceConfig": {"bucket": "b"}}
    assert jsonschema.Draft202012Validator(ready).is_valid(body)
    assert api.post("/api/v1/data-sources", json=body).json()["state"]["code"] == "003"


def test_000s_connection_settings_follow_the_same_schema_named_as_000_names_them(client_for, tenant):
    # Given a Foundation data source (000's dialect, x-org)
    org = client_for("editor")
    org.headers["x-org"] = tenant
    entity = {"entity": {"name": "Generated", "entity_type": "origin"}}
    identifier = org.post("/api/data/data_source", json=entity).json()["entity"]["identifier"]
    # When its synthetic connection gives a setting the catalogue types as an integer in 1-200 as text
    refused = org.put(
        "/api/data/data_source/connection",
        params={"identifier": identifier},
        json={"connection": {"connection_type": "synthetic", "tables": 2, "columns": "many"}},
    )
    # Then it is refused as the schema says, naming the setting as 000's client wrote it
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [{"field": "connection.columns", "reason": "must be an integer"}]
    accepted = org.put(
        "/api/data/data_source/connection",
        params={"identifier": identifier},
        json={"connection": {"connection_type": "synthetic", "tables": 2, "columns": 4}},
    )
    assert accepted.status_code == 200, accepted.text
