"""End to end on real parts: a PostgreSQL source refreshed by the schedule, a table altered, the diff and the event seen.

The sweeper, queue and worker run on moto through the devserver's scheduler; the refresher is the real one (connection
test, discovery on the local PostgreSQL, snapshot storage), and only the clock is frozen.
"""

from __future__ import annotations

import json

import psycopg

from datasource_registry.domain.schema_service import SchemaService
from datasource_registry.runtime import services

BASE = "/api/v1/data-sources"


def test_the_schedule_refreshes_a_postgres_schema_and_publishes_the_change(
    api, tenant, clock, scheduler, pg_schema, bus_inbox
):
    # Given an active PostgreSQL source refreshed every minute, and a rule that forwards the bus's events to a queue
    assert isinstance(services().schema_refresher, SchemaService)  # the real refresher, not a fake
    schema = pg_schema('CREATE TABLE "{schema}".customers (id bigint PRIMARY KEY, email text NOT NULL)')
    inbox = bus_inbox({"detail": {"tenantId": [tenant]}})
    created = api.post(
        BASE,
        json={
            "name": "Scheduled PostgreSQL",
            "type": "postgresql",
            "host": "127.0.0.1",
            "port": 5432,
            "databaseName": "test",
            "includePatterns": [f"{schema}.*"],
            "status": "active",
            "schemaRefreshInterval": 60,
            "credentials": {"username": "postgres", "password": "pg-refresh-secret"},
        },
    ).json()
    # When the schedule fires (the first check, then the refresh the interval asks for), the table is
    # altered, and the schedule fires again a minute later
    scheduler.tick()
    checked = api.get(f"{BASE}/{created['id']}").json()
    scheduler.tick()
    first = api.get(f"{BASE}/{created['id']}").json()
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN phone text')
    clock.advance(seconds=61)
    scheduler.tick()
    second = api.get(f"{BASE}/{created['id']}").json()
    received = inbox()

    # Then the first tick only tested the connection (healthy, nothing discovered yet)
    assert checked["state"] == {"code": "100", "reason": "Healthy.", "healthy": True}
    assert (checked["lastTestedAt"] is not None, checked["schemaDiscoveredAt"], checked["lastRefreshStatus"]) == (
        True,
        None,
        None,
    )
    # And both refreshes succeeded, the second stored version 2, and the diff shows the new column
    assert (first["lastRefreshStatus"], first["state"]["healthy"], first["schemaDiscoveredAt"] is not None) == (
        "succeeded",
        True,
        True,
    )
    assert second["lastRefreshStatus"] == "succeeded" and second["nextRefreshAt"] > first["nextRefreshAt"]
    diff = api.get(f"{BASE}/{created['id']}/schema/diff", params={"from": 1, "to": 2}).json()
    assert diff["tablesChanged"][0]["columnsAdded"] == ["phone"]
    # And the bus carried the health change and the schema change, without the password
    by_type: dict[str, list[dict]] = {}
    for event in received:
        by_type.setdefault(event["detail-type"], []).append(event["detail"])
    assert by_type["DataSourceHealthChanged"][0]["current"]["healthy"] is True
    changed = by_type["DataSourceSchemaChanged"]
    assert changed[-1]["version"] == 2 and changed[-1]["diffSummary"]["columnsAdded"] == 1
    assert "pg-refresh-secret" not in json.dumps(received)
