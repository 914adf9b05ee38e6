"""Drift over HTTP on real parts: a PostgreSQL table altered between two discoveries, the diff read with kinds,
severities and the severity filter, and the schema-change event read from the bus (moto) with its bounded changes."""

from __future__ import annotations

import json
import uuid

import psycopg

from devserver.template import physical_name

BASE = "/api/v1/data-sources"
ORDERS = (
    'CREATE TABLE "{schema}".orders (id integer PRIMARY KEY, note text, total integer, '
    "code character varying(10), placed_at date)"
)
PASSWORD = "pg-drift-secret-marker"


def postgres_source(schema: str, **extra) -> dict:
    return {
        "name": f"Drift {schema}",
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "databaseName": "test",
        "includePatterns": [f"{schema}.*"],
        "credentials": {"username": "postgres", "password": PASSWORD},
        **extra,
    }


def alter(schema: str) -> None:
    """Drop a column, widen two types, tighten a nullability, add a column."""
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".orders DROP COLUMN note')
        conn.execute(f'ALTER TABLE "{schema}".orders ALTER COLUMN total TYPE bigint')
        conn.execute(f'ALTER TABLE "{schema}".orders ALTER COLUMN code TYPE character varying(40)')
        conn.execute(f'ALTER TABLE "{schema}".orders ALTER COLUMN placed_at SET NOT NULL')
        conn.execute(f'ALTER TABLE "{schema}".orders ADD COLUMN channel text')


def expected(schema: str) -> list[dict]:
    """The changes `alter` makes, as the API lists them: breaking first, then by column."""
    changes = [
        ("column_removed", "breaking", "note", "text", None),
        ("nullability_changed", "breaking", "placed_at", "nullable", "not null"),
        ("column_added", "non_breaking", "channel", None, "text"),
        ("type_changed", "non_breaking", "code", "character varying(10)", "character varying(40)"),
        ("type_changed", "non_breaking", "total", "integer", "bigint"),
    ]
    return [
        {"kind": kind, "severity": severity, "table": f"{schema}.orders", "column": column, "before": b, "after": a}
        for kind, severity, column, b, a in changes
    ]


def test_the_diff_says_what_breaks_and_filters_by_severity(api, pg_schema):
    # Given a discovered PostgreSQL table
    schema = pg_schema(ORDERS)
    created = api.post(BASE, json=postgres_source(schema)).json()
    first = api.post(f"{BASE}/{created['id']}/discover-schema").json()

    # When it is altered and discovered again
    alter(schema)
    second = api.post(f"{BASE}/{created['id']}/discover-schema").json()
    url = f"{BASE}/{created['id']}/schema/diff"
    whole = api.get(url, params={"from": 1, "to": 2})
    breaking = api.get(url, params={"from": 1, "to": 2, "severity": "breaking"}).json()
    harmless = api.get(url, params={"from": 1, "to": 2, "severity": "non_breaking"}).json()
    refused = api.get(url, params={"from": 1, "to": 2, "severity": "fatal"})

    # Then every change has its kind and severity, breaking first, with counts by severity
    assert (first["version"], second["version"], whole.status_code) == (1, 2, 200)
    body = whole.json()
    assert body["changes"] == expected(schema)
    assert body["severityCounts"] == {"breaking": 2, "nonBreaking": 3}
    # And the filter keeps one severity (the counts stay those of the whole diff)
    assert [c["column"] for c in breaking["changes"]] == ["note", "placed_at"]
    assert [c["column"] for c in harmless["changes"]] == ["channel", "code", "total"]
    assert breaking["severityCounts"] == harmless["severityCounts"] == body["severityCounts"]
    # And a severity that is not one is a 400 problem naming the parameter
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"] == [{"field": "severity", "reason": "must be one of breaking, non_breaking"}]
    assert PASSWORD not in whole.text


def test_the_schema_change_event_carries_counts_first_changes_and_the_diff_path(
    api, tenant, clock, scheduler, local_api, pg_schema
):
    # Given a source refreshed every minute by the schedule, and a rule forwarding the bus's events to a queue
    schema = pg_schema(ORDERS)
    events, sqs = local_api.aws.client("events"), local_api.aws.client("sqs")
    bus = physical_name("DataSourceEventBus")
    inbox = sqs.create_queue(QueueName=f"drift-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"drift-{uuid.uuid4().hex[:8]}"
    pattern = {"detail-type": ["DataSourceSchemaChanged"], "detail": {"tenantId": [tenant]}}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": inbox_arn}])
    created = api.post(BASE, json=postgres_source(schema, status="active", schemaRefreshInterval=60)).json()
    try:
        # When the schedule checks and discovers it, the table is altered, and the schedule fires again
        scheduler.tick()  # the first connection check
        scheduler.tick()  # the first refresh: version 1
        alter(schema)
        clock.advance(seconds=61)
        scheduler.tick()
        received = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        ]
    finally:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["inbox"])
        events.delete_rule(Name=rule, EventBusName=bus)

    # Then the event says what breaks and where the whole diff is, without the password
    first, detail = sorted((e["detail"] for e in received), key=lambda d: d["version"])
    assert first["version"] == 1 and "changes" not in first  # the first version has nothing to compare with
    assert (detail["version"], detail["changeCount"]) == (2, 5)
    assert detail["severityCounts"] == {"breaking": 2, "nonBreaking": 3}
    assert detail["changes"] == expected(schema)
    assert detail["diffPath"] == f"{BASE}/{created['id']}/schema/diff?from=1&to=2"
    assert api.get(detail["diffPath"]).json()["changes"] == detail["changes"]
    assert PASSWORD not in json.dumps(received)
