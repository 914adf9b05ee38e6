"""Secrets typed into connection strings, URIs and configuration documents never come back, in any dialect.

Every response, log line and exception of these tests is scanned for the marker (tests/prove/conftest.py); here
the marker sits in a URL's userinfo and query, in key=value strings, in 003's sourceConfig and metadata, in
Foundation connection settings and in Public v1's `uri`, and the scans reach the DynamoDB tables (idempotency
records included), the bus and the queues too.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from datasource_registry import migrate
from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository
from datasource_registry.domain.ids import new_data_source_id
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.service import MIGRATION_SUBJECT
from datasource_registry.secret_parts import PLACEHOLDER
from devserver.scheduler import LocalScheduler
from devserver.template import physical_name
from tests.conftest import port_open, require
from tests.prove.conftest import scan
from tests.prove.harness import MARKER, readable, records, secret_values, table_items

# Secrets with the characters that break naive handling: quotes, '@', '%', ':', '/', '\', non-ASCII.
ODD = ["plain", "q'uo\"te", "at@sign", "per%cent", "co:lon", "sl/ash", "back\\slash", "ünï☃de"]
PG = "127.0.0.1:5432"


def marked(n: int | str, odd: str) -> str:
    return f"{MARKER}-{odd}-{n}"


def pg_string(password: str, *, user: str = "postgres", query_secret: str | None = None) -> str:
    url = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{PG}/test?sslmode=disable"
    return url + (f"&password={quote(query_secret, safe='')}" if query_secret else "")


@pytest.fixture
def inbox(local_api):
    """Every event the registry puts on its bus, forwarded to a queue the test reads."""
    events, sqs = local_api.aws.client("events"), local_api.aws.client("sqs")
    bus = physical_name("DataSourceEventBus")
    queue = sqs.create_queue(QueueName=f"leak-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"leak-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["datasource-registry"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
    yield queue
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["inbox"])
    events.delete_rule(Name=rule, EventBusName=bus)


def drain(sqs: Any, queue: str) -> list[str]:
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def every_item(aws: Any) -> list[str]:
    """Every item of every DynamoDB table (the registry's and the idempotency records), as JSON text."""
    dynamodb = aws.client("dynamodb")
    texts: list[str] = []
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            texts += [json.dumps(item, default=readable) for item in page["Items"]]
    return texts


def test_secrets_in_strings_and_documents_never_come_back_in_any_dialect(local_api, client_for, tenant, inbox):
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    api = client_for("editor")
    org = {"x-org": tenant}
    created: list[dict[str, Any]] = []
    # Given sources made in every dialect, with the marker in every place a secret can be typed
    for n, odd in enumerate(ODD):
        pw = marked(n, odd)
        body = {
            "name": f"Strings {n}",
            "type": "postgresql",
            "connectionString": pg_string(pw),
            "sourceConfig": {"clientSecret": pw, "url": f"https://u:{quote(pw, safe='')}@api.example.com/?token=x{n}"},
            "metadata": {"apiKey": pw, "owner": "data team"},
            "status": "active",  # refreshed by the schedule: its events and queue messages are scanned too
        }
        answer = api.post("/api/v1/data-sources", json=body, headers={"idempotency-key": f"strings-{n}"})
        assert answer.status_code == 201, answer.text
        replay = api.post("/api/v1/data-sources", json=body, headers={"idempotency-key": f"strings-{n}"})
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        created.append(answer.json())
    snake = api.post(
        "/api/v1/data-sources",
        json={
            "name": "Snake",
            "type": "postgresql",
            "connection_string": pg_string("x", query_secret=marked("q", "x")),
        },
    )
    # (a password given twice, differently, is refused without repeating either)
    assert snake.status_code == 400 and snake.json()["errors"][0]["field"] == "connectionString"
    snake = api.post(
        "/api/v1/data-sources",
        json={
            "name": "Snake",
            "type": "postgresql",
            "connection_string": f"postgresql://postgres@{PG}/test?password={quote(marked('q', 'at@sign'), safe='')}",
        },
    )
    assert snake.status_code == 201, snake.text
    created.append(snake.json())
    keywords = api.post(
        "/api/v1/data-sources",
        json={
            "name": "Keywords",
            "type": "sqlserver",
            "connectionString": f'Server=tcp:db.example.com,1433;User ID=sa;Password="{marked("k", "a;b")}";',
        },
    )
    assert keywords.status_code == 201, keywords.text
    created.append(keywords.json())
    public = api.post(
        "/api/public/v1/data-sources",
        json=[
            {"name": f"Public {n}", "databaseType": "postgresql", "uri": pg_string(marked(f"p{n}", odd))}
            for n, odd in enumerate(ODD[:3])
        ],
    )
    assert public.status_code == 200 and all(item["status"] == 200 for item in public.json()["data"])
    foundation = api.post("/api/data/data_source", json={"entity": {"name": "Foundation strings"}}, headers=org)
    assert foundation.status_code == 200, foundation.text
    fid = foundation.json()["entity"]["identifier"]
    connection = {
        "connection_type": "database",
        "engine": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "database": "test",
        "password": marked("f", "co:lon"),
        "dsn": pg_string(marked("f2", "per%cent")),
    }
    configured = api.put(
        "/api/data/data_source/connection", params={"identifier": fid}, json={"connection": connection}, headers=org
    )
    assert configured.status_code == 200, configured.text

    # When each is written again, tested, discovered, read in every dialect, and written with a stale version
    ids = [c["id"] for c in created] + [item["data"]["id"] for item in public.json()["data"]] + [fid]
    for source in created[:3]:
        stale = api.put(
            "/api/v1/data-sources",
            json={"key": source["key"], "rowVersion": 99, "connectionString": pg_string(marked("new", "x"))},
        )
        assert stale.status_code == 409
        assert api.post(f"/api/v1/data-sources/{source['id']}/test-connection").json()["success"] is True
        assert api.post(f"/api/v1/data-sources/{source['id']}/discover-schema").status_code == 200
    # (a user name is configuration and shows in the string, but error text never repeats it)
    login = f"nobody_{uuid.uuid4().hex[:8]}"
    wrong_user = api.put(
        "/api/v1/data-sources",
        json={"key": created[3]["key"], "connectionString": pg_string(marked(3, "x"), user=login)},
    )
    assert wrong_user.status_code == 200, wrong_user.text
    failed = api.post(f"/api/v1/data-sources/{created[3]['id']}/test-connection")
    assert failed.json()["success"] is False and failed.json()["errorCode"] in {"AUTH_FAILED", "NOT_FOUND"}
    assert login not in failed.text and "***" in failed.json()["error"], failed.json()["error"]
    unsaved = api.post(
        "/api/v1/data-sources/test-connection",
        json={"name": "Unsaved", "type": "postgresql", "connectionString": pg_string(marked("u", "q'uo\"te"))},
    )
    assert unsaved.json()["success"] is True
    for source_id in ids:
        api.get(f"/api/v1/data-sources/{source_id}")
        api.get(f"/api/public/v1/data-sources/{source_id}")
        api.get("/api/data/data_source", params={"identifier": source_id}, headers=org)
    api.get("/api/v1/data-sources", params={"limit": "100"})
    api.get("/api/data/data_source/list", headers=org)
    api.post("/api/public/v1/data-sources/by-ids", json={"ids": ids})
    api.post("/api/public/v1/data-sources/filter", json={"resourceNames": ["*"]})

    LocalScheduler(local_api.aws, local_api.template, local_api.invoker).tick()

    # Then the answers show placeholders where the secrets were, and the secrets are where they belong
    shown = api.get(f"/api/v1/data-sources/{created[0]['id']}").json()
    assert shown["connectionString"] == f"postgresql://postgres:{PLACEHOLDER}@{PG}/test?sslmode=disable"
    assert shown["sourceConfig"]["clientSecret"] == PLACEHOLDER
    assert shown["sourceConfig"]["url"] == f"https://u:{PLACEHOLDER}@api.example.com/?token={PLACEHOLDER}"
    assert shown["metadata"] == {"apiKey": PLACEHOLDER, "owner": "data team"}
    assert "password" in shown["credentials"]["configured"]
    stored = records(local_api.aws, tenant)[created[0]["id"]]
    values = secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"])
    assert values["password"] == marked(0, ODD[0])
    assert values["sourceConfig.clientSecret"] == marked(0, ODD[0])
    fview = api.get("/api/data/data_source", params={"identifier": fid}, headers=org).json()
    assert fview["connection"]["password"] == PLACEHOLDER
    assert fview["connection"]["dsn"] == f"postgresql://postgres:{PLACEHOLDER}@{PG}/test?sslmode=disable"
    # ... and no table, event or queue holds one
    for text in every_item(local_api.aws):
        scan(text, "a DynamoDB item")
    sqs = local_api.aws.client("sqs")
    events = drain(sqs, inbox)
    assert events, "the refreshes above publish events: the scan must see some"
    for body in events:
        scan(body, "a bus event")
    for name in ("SchemaRefreshQueue", "SchemaRefreshDeadLetterQueue"):
        try:
            url = sqs.get_queue_url(QueueName=physical_name(name))["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        for body in drain(sqs, url):
            scan(body, f"a message on {name}")


@pytest.mark.parametrize("secret", ["a", "ab", "abc", "o", "%", "@", ":", "'"])
def test_short_and_odd_secrets_are_moved_out_and_never_garble_an_answer(local_api, client_for, tenant, secret):
    # A one-character password can't be found by a substring scan: the proof is exact about what is shown
    api = client_for("editor")
    text = (
        f"postgresql://postgres:{quote(secret, safe='')}@{PG}/test?sslmode=disable&sslpassword={quote(secret, safe='')}"
    )

    created = api.post(
        "/api/v1/data-sources", json={"name": f"Short {secret!r}", "type": "postgresql", "connectionString": text}
    )

    assert created.status_code == 201, created.text
    redacted = f"postgresql://postgres:{PLACEHOLDER}@{PG}/test?sslmode=disable&sslpassword={PLACEHOLDER}"
    assert created.json()["connectionString"] == redacted
    stored = records(local_api.aws, tenant)[created.json()["id"]]
    assert stored["spec"]["connection_string"] == redacted
    assert secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"]) == {
        "password": secret,
        "connectionString.sslpassword": secret,
    }
    # The connector refuses sslpassword (no client keys here): its message names the option, never the value,
    # and is never garbled around the secret's letters
    tested = api.post(f"/api/v1/data-sources/{created.json()['id']}/test-connection").json()
    assert tested["success"] is False
    assert tested["error"] in {
        "connection option 'sslpassword' is not allowed",
        "the details were withheld because they contained a credential",
    }


def test_the_redacted_form_sent_back_changes_nothing_and_a_new_password_replaces_it(local_api, client_for, tenant):
    api = client_for("editor")
    created = api.post(
        "/api/v1/data-sources",
        json={"name": "Round trip", "type": "postgresql", "connectionString": pg_string(marked(1, "a"))},
    ).json()
    secret_version = records(local_api.aws, tenant)[created["id"]]["secret_version"]

    # When the client writes back what it read (canonical PUT, Public PATCH)
    back = api.put(
        "/api/v1/data-sources", json={"key": created["key"], "connectionString": created["connectionString"]}
    )
    public = api.get(f"/api/public/v1/data-sources/{created['id']}").json()["data"]
    patched = api.patch(f"/api/public/v1/data-sources/{created['id']}", json={"uri": public["uri"]})

    # Then the password in force is unchanged (the placeholder is never taken as a value)
    assert back.status_code == 200 and patched.status_code == 200
    stored = records(local_api.aws, tenant)[created["id"]]
    assert stored["secret_version"] == secret_version
    assert secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"])["password"] == marked(1, "a")
    assert api.post(f"/api/v1/data-sources/{created['id']}/test-connection").json()["success"] is True

    # When a new password is sent in the string, Then it replaces the old one
    api.put("/api/v1/data-sources", json={"key": created["key"], "connectionString": pg_string(marked(2, "b"))})
    stored = records(local_api.aws, tenant)[created["id"]]
    assert secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"])["password"] == marked(2, "b")
    # A placeholder where no value is set is not shown as if one were
    bare = api.post(
        "/api/v1/data-sources",
        json={"name": "No secret", "type": "postgresql", "connectionString": f"postgresql://u:{PLACEHOLDER}@{PG}/test"},
    ).json()
    assert bare["connectionString"] == f"postgresql://u@{PG}/test" and bare["credentials"]["configured"] == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("postgresql://u:pa#ss@h/db", "'#'"),
        ("postgresql://u:pa/ss@h/db", "'@' after the host"),
        ("postgresql://u@h:\uff15\uff14\uff13\uff12/db", "ASCII digits"),
        ("postgresql://u@h:\u0665\u0664/db", "ASCII digits"),
        ("postgresql://u:p@[::1/db", "closed"),
        ("postgresql://u@b\u00fccher.de/db", "ASCII"),
        ("postgresql://u@h\uff0fx/db", "ASCII"),
        ("just some text", "must be a URL"),
        ("host=h password='unclosed", "not closed"),
    ],
)
def test_strings_that_cannot_be_split_safely_are_refused_with_the_field_and_never_echoed(client_for, text, reason):
    api = client_for("editor")
    marked_text = text.replace("pa", MARKER)

    for dialect in ("canonical", "public"):
        if dialect == "canonical":
            answer = api.post(
                "/api/v1/data-sources", json={"name": "Odd", "type": "postgresql", "connectionString": marked_text}
            )
            errors = answer.json()["errors"]
            field = "connectionString"
        else:
            answer = api.post(
                "/api/public/v1/data-sources", json=[{"name": "Odd", "databaseType": "postgresql", "uri": marked_text}]
            )
            errors = answer.json()["data"][0]["error"]["errors"]
            field = "[0].uri"  # 002's own name for the field
        assert answer.status_code in {400, 200}, answer.text
        assert any(e["field"] == field and reason in e["reason"] for e in errors), errors


def test_a_viewer_gets_403_before_its_body_is_read_or_a_key_replayed(client_for):
    editor, viewer = client_for("editor"), client_for("viewer")
    body = {"name": "Replayed", "type": "synthetic"}
    assert editor.post("/api/v1/data-sources", json=body, headers={"idempotency-key": "mine"}).status_code == 201

    replay = viewer.post("/api/v1/data-sources", json=body, headers={"idempotency-key": "mine"})
    invalid = viewer.post("/api/v1/data-sources", json={"name": 42, "bogus": True})
    public_invalid = viewer.post("/api/public/v1/data-sources", json=[{"bogus": 1}])

    assert replay.status_code == 403 and "idempotent-replayed" not in replay.headers
    assert invalid.status_code == 403 and public_invalid.status_code == 403
    assert viewer.post("/api/public/v1/data-sources/filter", json={"resourceNames": ["*"]}).status_code == 200


def test_records_written_before_the_split_never_show_their_secrets_and_are_moved(local_api, client_for, tenant):
    # Given records an earlier version wrote: passwords inside the connection string and sourceConfig, as typed
    api = client_for("editor")
    org = {"x-org": tenant}
    repository = DynamoDbDataSourceRepository(local_api.aws.client("dynamodb"), os.environ["TABLE_NAME"])
    now = datetime.now(UTC)

    def legacy(n: int) -> DataSource:
        spec = DataSourceSpec.model_validate(
            {
                "name": f"Legacy {n}",
                "type": "postgresql",
                "connectionString": pg_string(marked(n, "old")),
                "sourceConfig": {"token": marked(n, "tok"), "region": "eu-west-1"},
            }
        )
        source = DataSource(
            id=new_data_source_id(),
            tenant_id=tenant,
            key=f"legacy-{n}",
            spec=spec,
            created_at=now,
            updated_at=now,
            created_by="an earlier version",
        )
        repository.add(source)
        return source

    first, second = legacy(1), legacy(2)
    redacted = f"postgresql://postgres:{PLACEHOLDER}@{PG}/test?sslmode=disable"

    # When they are read in every dialect, Then the secrets show as placeholders (the scans see every answer)
    for source in (first, second):
        canonical = api.get(f"/api/v1/data-sources/{source.id}").json()
        assert canonical["connectionString"] == redacted
        assert canonical["sourceConfig"] == {"token": PLACEHOLDER, "region": "eu-west-1"}
        assert api.get(f"/api/public/v1/data-sources/{source.id}").json()["data"]["uri"] == redacted
        foundation = api.get("/api/data/data_source", params={"identifier": source.id}, headers=org).json()
        assert foundation["connection"]["token"] == PLACEHOLDER
    api.get("/api/v1/data-sources")
    api.post("/api/public/v1/data-sources/filter", json={"resourceNames": ["Legacy*"]})

    # When the first is written, Then its secrets move to Secrets Manager and the connection still works
    assert api.put("/api/v1/data-sources", json={"key": "legacy-1", "description": "touched"}).status_code == 200
    stored = records(local_api.aws, tenant)[first.id]
    assert stored["spec"]["connection_string"] == redacted and stored["spec"]["source_config"]["token"] == PLACEHOLDER
    values = secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"])
    assert values == {"password": marked(1, "old"), "sourceConfig.token": marked(1, "tok")}
    assert api.post(f"/api/v1/data-sources/{first.id}/test-connection").json()["success"] is True

    # When the one-off migration runs, Then the second moves too, and a second run finds nothing to move
    migrate.move_secrets()
    stored = records(local_api.aws, tenant)[second.id]
    assert stored["spec"]["connection_string"] == redacted and stored["updated_by"] == MIGRATION_SUBJECT
    assert secret_values(local_api.aws, stored["secret_arn"], stored["secret_version"])["password"] == marked(2, "old")
    assert migrate.move_secrets()["moved"] == 0
    for text in every_item(local_api.aws):
        scan(text, "a DynamoDB item")


def test_name_markers_written_before_nfkc_are_rewritten_and_clashes_reported(local_api, client_for, tenant, capfd):
    # Given sources whose markers an earlier version wrote in plain casefold: a fullwidth name, and a pair that
    # were two names then and are one name now
    api = client_for("editor")
    dynamodb, table = local_api.aws.client("dynamodb"), os.environ["TABLE_NAME"]
    wide = api.post("/api/v1/data-sources", json={"key": "wide", "name": "\uff33ource"}).json()
    plain = api.post("/api/v1/data-sources", json={"key": "plain", "name": "Other"}).json()
    twin = api.post("/api/v1/data-sources", json={"key": "twin", "name": "Twin"}).json()
    pk = {"S": f"T#{tenant}"}

    def rewrite_marker(source: dict, old_name: str) -> None:
        dynamodb.delete_item(TableName=table, Key={"pk": pk, "sk": {"S": f"NAME#{old_name}"}})
        dynamodb.put_item(TableName=table, Item={"pk": pk, "sk": {"S": f"NAME#{old_name}"}, "id": {"S": source["id"]}})

    dynamodb.delete_item(TableName=table, Key={"pk": pk, "sk": {"S": "NAME#source"}})
    dynamodb.put_item(TableName=table, Item={"pk": pk, "sk": {"S": "NAME#\uff53ource"}, "id": {"S": wide["id"]}})
    # the twin's record now says "Other" too (fullwidth): two records, one name, as an earlier version allowed
    key = {"pk": pk, "sk": {"S": f"DS#{twin['id']}"}}
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    document = json.loads(item["doc"]["S"])
    document["spec"]["name"] = "\uff2fther"
    dynamodb.put_item(TableName=table, Item={**item, "doc": {"S": json.dumps(document)}})
    rewrite_marker(twin, "twin")

    # When the migration runs
    counts = migrate.normalize_names()

    # Then the fullwidth name's marker is the NFKC identity, the clash is reported, and a second run is clean
    markers = {
        i["sk"]["S"]: i["id"]["S"] for i in table_items(local_api.aws, tenant) if i["sk"]["S"].startswith("NAME#")
    }
    assert markers["NAME#source"] == wide["id"] and "NAME#\uff53ource" not in markers
    assert markers["NAME#other"] == plain["id"]
    assert counts["rewritten"] >= 1 and counts["clashing"] >= 1
    assert twin["id"] in capfd.readouterr().err
    assert migrate.normalize_names()["rewritten"] == 0
    # And the renamed source can be renamed and deleted without leaving a marker behind
    assert api.put("/api/v1/data-sources", json={"key": "wide", "name": "Renamed"}).status_code == 200
    assert api.delete("/api/v1/data-sources", params={"key": "wide"}).status_code == 204
    left = {i["sk"]["S"] for i in table_items(local_api.aws, tenant) if i["sk"]["S"].startswith("NAME#")}
    assert "NAME#source" not in left and "NAME#renamed" not in left
