"""The canonical /api/v1/data-sources API over a real socket, on the local stack (moto server)."""

from __future__ import annotations

import gzip
import json

import boto3
import pytest

from tests.conftest import postgres_body

BASE = "/api/v1/data-sources"


def test_001s_curl_example_creates_a_source_and_never_returns_its_password(api):
    created = api.post(BASE, json=postgres_body())

    assert created.status_code == 201
    body = created.json()
    assert body["key"] == "production-postgresql"
    assert body["databaseName"] == "production"
    assert (body["status"], body["rowVersion"], body["connectionTimeout"], body["sshPort"]) == (
        "draft",
        1,
        30,
        22,
    )
    assert body["credentials"] == {"configured": ["password", "username"]}
    assert body["state"] == {
        "code": "003",
        "reason": "Configured; connection not tested yet.",
        "healthy": False,
    }
    assert "securepassword" not in created.text
    assert created.headers["etag"] == '"1"'


def test_003s_example_request_is_accepted_in_camel_case(api):
    created = api.post(
        BASE,
        json={
            "key": "crm-customers",
            "name": "CRM Customer Export",
            "description": "Daily customer data export from Salesforce.",
            "connectorKey": "salesforce",
            "sourceConfig": {"objectName": "Contact", "query": "SELECT Id, Email, Name FROM Contact"},
            "syncMode": "incremental",
            "schemaKey": "customers",
            "status": "active",
        },
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["key"], body["connectorKey"], body["type"], body["syncMode"]) == (
        "crm-customers",
        "salesforce",
        None,
        "incremental",
    )
    assert body["recordCount"] == 0 and body["fileFormat"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "postgresql"}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "x", "type": "postgresql"}, {"host", "port", "databaseName"}),
        ({"name": "x", "type": "parquet"}, {"filePath"}),
        ({"name": "x", "type": "csv", "file_path": "../etc/passwd"}, {"filePath"}),
        ({"name": "x", "type": "nosuchdb"}, {"type"}),
        ({"name": "x", "port": "not-a-port"}, {"port"}),
        ({"name": "x", "favouriteColour": "blue"}, {"favouriteColour"}),
        ({"name": "x\u0000y"}, {"name"}),
        ({"name": "x", "key": "has spaces"}, {"key"}),
        ({"name": "x", "use_ssh_tunnel": True}, {"sshHost", "sshUsername"}),
        ({"name": "x", "credentials": {"password": 5}}, {"credentials.password"}),
    ],
)
def test_invalid_bodies_are_refused_with_field_level_reasons_and_nothing_is_stored(api, body, fields):
    refused = api.post(BASE, json=body)

    assert refused.status_code == 400, refused.text
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in problem["errors"]} == fields
    assert api.get(BASE).json()["pagination"]["total"] == 0


def test_non_json_malformed_and_oversized_bodies_get_4xx_problems(api):
    assert api.post(BASE, content=b"name=x", headers={"content-type": "text/plain"}).status_code == 415
    malformed = api.post(BASE, content=b'{"name": ', headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "body"
    deep = api.post(BASE, content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})
    assert deep.status_code in (400, 413)
    huge = api.post(BASE, json={"name": "x", "description": "d" * 300_000})
    assert huge.status_code == 413
    assert api.get(BASE).json()["pagination"]["total"] == 0


def test_duplicate_keys_and_names_conflict(api):
    assert api.post(BASE, json=postgres_body("Sales DB", key="sales")).status_code == 201

    same_key = api.post(BASE, json=postgres_body("Other", key="sales"))
    same_name = api.post(BASE, json=postgres_body("sales db", key="sales-2"))

    assert (same_key.status_code, same_name.status_code) == (409, 409)
    assert same_key.json()["errors"][0]["field"] == "key"
    assert same_name.json()["errors"][0]["field"] == "name"


def test_list_pages_oldest_first_with_an_opaque_cursor(api):
    keys = [f"src-{i}" for i in range(5)]
    for key in keys:
        api.post(BASE, json=postgres_body(f"Source {key}", key=key))

    seen, cursor, pages = [], None, 0
    while True:
        page = api.get(BASE, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages += 1
        seen += [item["key"] for item in page["data"]]
        assert page["pagination"]["total"] == 5 and page["pagination"]["limit"] == 2
        cursor = page["pagination"]["nextCursor"]
        assert page["pagination"]["hasMore"] is (cursor is not None)
        if cursor is None:
            break

    assert seen == keys and pages == 3


def test_a_listed_source_reads_as_its_own_get_non_ascii_text_and_schedule_included(api):
    created = api.post(
        BASE,
        json=postgres_body('Zoë\'s ✓ "orders"', description="Ünïcode", schedule={"cron": "0 2 * * *"}),
    ).json()

    listed = api.get(BASE).json()["data"]

    assert listed == [api.get(f"{BASE}/{created['id']}").json()]
    assert listed[0]["name"] == 'Zoë\'s ✓ "orders"' and listed[0]["schedule"] == {"cron": "0 2 * * *"}
    assert "securepassword" not in api.get(BASE).text


def test_a_cursor_cannot_reach_into_another_tenant(api, client_for):
    for i in range(3):
        api.post(BASE, json=postgres_body(f"A{i}", key=f"a{i}"))
    cursor = api.get(BASE, params={"limit": 1}).json()["pagination"]["nextCursor"]
    other = client_for("editor", tenant_id="t_other_for_cursor")

    page = other.get(BASE, params={"cursor": cursor})

    assert page.status_code == 200 and page.json()["data"] == []
    assert other.get(BASE, params={"cursor": "forged!"}).status_code == 400
    assert other.get(BASE, params={"limit": "0"}).status_code == 400
    assert other.get(BASE, params={"limit": "1000"}).status_code == 400


def test_get_by_id_or_key_and_other_tenants_get_404(api, client_for):
    created = api.post(BASE, json=postgres_body()).json()

    by_id = api.get(f"{BASE}/{created['id']}")
    by_key = api.get(f"{BASE}/{created['key']}")
    stranger = client_for("admin", tenant_id="t_stranger")

    assert by_id.json() == by_key.json() == created
    assert by_id.headers["etag"] == '"1"'
    assert stranger.get(f"{BASE}/{created['id']}").status_code == 404
    assert stranger.put(BASE, json={"key": created["key"], "description": "x"}).status_code == 404
    assert stranger.delete(BASE, params={"key": created["key"]}).status_code == 404
    assert api.get(f"{BASE}/{created['id']}").json()["rowVersion"] == 1


def test_put_changes_only_given_fields_and_guards_with_row_version(api):
    created = api.post(BASE, json=postgres_body(tags=["a", "b"])).json()

    updated = api.put(BASE, json={"key": created["key"], "description": "Primary", "rowVersion": 1})
    stale = api.put(BASE, json={"key": created["key"], "description": "Lost", "rowVersion": 1})

    assert updated.status_code == 200
    assert (updated.json()["description"], updated.json()["tags"], updated.json()["rowVersion"]) == (
        "Primary",
        ["a", "b"],
        2,
    )
    assert stale.status_code == 409
    assert stale.json()["title"] == "Optimistic concurrency conflict"
    assert stale.json()["detail"] == "rowVersion mismatch."
    assert stale.json()["current"]["description"] == "Primary" and stale.json()["current"]["rowVersion"] == 2


def test_put_honours_if_match_with_the_etag_from_get(api):
    created = api.post(BASE, json=postgres_body()).json()
    etag = api.get(f"{BASE}/{created['id']}").headers["etag"]

    first = api.put(BASE, json={"key": created["key"], "port": 6543}, headers={"if-match": etag})
    second = api.put(BASE, json={"key": created["key"], "port": 7654}, headers={"if-match": etag})

    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    assert second.status_code == 409 and second.json()["current"]["port"] == 6543


def test_put_validates_the_merged_result(api):
    created = api.post(BASE, json=postgres_body()).json()

    refused = api.put(BASE, json={"key": created["key"], "host": None, "name": ""})

    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"name"}
    refused = api.put(BASE, json={"key": created["key"], "host": None})
    assert {e["field"] for e in refused.json()["errors"]} == {"host"}
    assert api.get(f"{BASE}/{created['id']}").json()["rowVersion"] == 1


def _secret_values(local_api, arn):
    client = boto3.client("secretsmanager", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    return client, client.describe_secret(SecretId=arn)


def test_credentials_live_in_secrets_manager_never_in_dynamodb(api, local_api, tenant):
    created = api.post(BASE, json=postgres_body()).json()
    api.put(
        BASE,
        json={"key": created["key"], "credentials": {"password": "rotated-secret-value", "username": None}},
    )

    dynamodb = boto3.client("dynamodb", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    items = dynamodb.query(
        TableName="local-DataSourcesTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{tenant}"}},
    )["Items"]
    record = json.loads(next(i for i in items if i["sk"]["S"].startswith("DS#"))["doc"]["S"])
    secrets = boto3.client("secretsmanager", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    value = secrets.get_secret_value(SecretId=record["secret_arn"], VersionId=record["secret_version"])

    # gzip'd revisions are read as the text they hold
    text = json.dumps(items, default=lambda value: gzip.decompress(value).decode())
    assert "securepassword" not in text and "rotated-secret-value" not in text
    assert "credentials.password changed" in text  # the audit line says so, by name
    assert json.loads(value["SecretString"]) == {"password": "rotated-secret-value"}
    assert api.get(f"{BASE}/{created['id']}").json()["credentials"] == {"configured": ["password"]}


def test_delete_removes_the_source_and_schedules_its_secret_for_deletion(api, local_api):
    created = api.post(BASE, json=postgres_body()).json()
    record_arn = None
    secrets = boto3.client("secretsmanager", endpoint_url=local_api.aws.endpoint_url, region_name="us-east-1")
    for secret in secrets.list_secrets(
        Filters=[{"Key": "tag-value", "Values": [created["id"]]}], IncludePlannedDeletion=True
    )["SecretList"]:
        record_arn = secret["ARN"]

    assert api.delete(BASE).status_code == 400
    deleted = api.delete(BASE, params={"key": created["key"]})

    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get(f"{BASE}/{created['id']}").status_code == 404
    assert api.delete(BASE, params={"key": created["key"]}).status_code == 404
    assert record_arn and "DeletedDate" in secrets.describe_secret(SecretId=record_arn)
    assert api.get(BASE).json()["pagination"]["total"] == 0
    # The key and name are free again.
    assert api.post(BASE, json=postgres_body()).status_code == 201


def test_roles_and_tokens(client_for, server):
    import httpx

    editor, viewer = client_for("editor"), client_for("viewer")
    created = editor.post(BASE, json=postgres_body()).json()

    assert viewer.get(f"{BASE}/{created['id']}").status_code == 200
    assert viewer.post(BASE, json=postgres_body("v")).status_code == 403
    assert viewer.put(BASE, json={"key": created["key"], "description": "x"}).status_code == 403
    assert viewer.delete(BASE, params={"key": created["key"]}).status_code == 403
    assert httpx.get(server.url + BASE).status_code == 401
    assert client_for(token="not-a-jwt").get(BASE).status_code == 401
    assert client_for("owner").get(BASE).status_code == 403
    assert editor.get(f"{BASE}/{created['id']}").json()["rowVersion"] == 1
