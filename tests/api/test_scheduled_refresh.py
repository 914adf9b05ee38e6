"""Scheduled schema refresh on the local stack: the sweeper and worker run from events/*.json on moto.

The refresher is the in-memory fake (the `refresher` fixture); swapping in the real one is a fixture change.
Time is frozen through the services' injectable clock: nothing sleeps.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from datasource_registry.adapters.refresh_schedule import DynamoDbRefreshSchedule
from datasource_registry.domain.ports import RefreshOutcome
from datasource_registry.domain.refresh import DEFAULT_SHARDS
from datasource_registry.domain.rules import connection_checked
from datasource_registry.runtime import services
from devserver.template import physical_name
from tests.conftest import load_event

SWEEPER = "SweepDueRefreshesFunction"
WORKER = "RefreshSchemaFunction"


def sweep(local_api) -> dict:
    """One scheduler tick, driven by the sample scheduled event."""
    return local_api.invoker.invoke(SWEEPER, load_event("sweep_due_refreshes.json"))


def create(api, name: str, *, tested: bool = True, **fields) -> dict:
    """A source created over HTTP; `tested` then records a passing connection test on it (as a user's foreground
    test does, through the registry's one write path), so these refresh tests start past the first check."""
    body = {"name": name, "type": "postgresql", "host": "db.example.com", "port": 5432, "databaseName": "app"}
    response = api.post("/api/v1/data-sources", json={**body, **fields})
    assert response.status_code == 201, response.text
    created = response.json()
    if tested:
        checked = services().data_sources.apply_registry_update(
            created["tenantId"],
            created["id"],
            lambda current: connection_checked(current, current.updated_at, healthy=True, reason=None),
        )
        assert checked is not None
    return created


def test_only_due_active_auto_refreshing_sources_are_refreshed_and_the_api_shows_it(
    api, tenant, clock, refresher, scheduler, local_api
):
    # Given an active source due now, a draft and an active source with auto refresh off
    create(api, "Due", status="active", schemaRefreshInterval=60)
    create(api, "Draft")
    create(api, "Manual", status="active", schemaAutoRefresh=False)

    # When the schedule ticks and the queue is drained into the worker
    sweep(local_api)
    scheduler.drain()

    # Then only the due source was refreshed, and the API shows the outcome and the next run
    assert refresher.refreshed(tenant) == ["due"]
    due = api.get("/api/v1/data-sources/due").json()
    assert due["lastRefreshStatus"] == "succeeded"
    assert datetime.fromisoformat(due["lastRefreshAt"]) == clock.now
    assert datetime.fromisoformat(due["nextRefreshAt"]) == clock.now + timedelta(seconds=60)
    assert api.get("/api/v1/data-sources/draft").json()["nextRefreshAt"] is None


def test_overlapping_sweeps_and_a_duplicate_delivery_refresh_once(api, tenant, clock, refresher, local_api):
    created = create(api, "Once", status="active")

    # Given two ticks that overlap (both at the same instant)
    reports = [sweep(local_api), sweep(local_api)]
    # And the one queued message delivered twice (the sample SQS event carrying the real message body)
    sqs = local_api.aws.client("sqs")
    url = sqs.get_queue_url(QueueName=physical_name("SchemaRefreshQueue"))["QueueUrl"]
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in batch]  # other tenants' leftovers may be queued too
    mine = [b for b in bodies if json.loads(b)["dataSourceId"] == created["id"]]
    event = load_event("refresh_schema.json")
    event["Records"][0]["body"] = mine[0]
    results = [local_api.invoker.invoke(WORKER, event), local_api.invoker.invoke(WORKER, event)]

    # Then one claim was made, and the refresh ran once; the duplicate succeeded as a no-op
    assert len(mine) == 1
    assert reports[1]["claimed"] == 0
    assert results == [{"batchItemFailures": []}, {"batchItemFailures": []}]
    assert refresher.refreshed(tenant) == ["once"]


def test_pause_stops_refreshes_and_resume_refreshes_once_not_a_backlog(
    api, tenant, clock, refresher, scheduler, local_api
):
    create(api, "Paused", status="active", schemaRefreshInterval=3600)
    scheduler.tick()
    assert refresher.refreshed(tenant) == ["paused"]

    # When it is paused for a week
    paused = api.put("/api/v1/data-sources", json={"key": "paused", "status": "paused"}).json()
    assert paused["nextRefreshAt"] is None
    clock.advance(days=7)
    scheduler.tick()
    assert refresher.refreshed(tenant) == ["paused"]

    # Then resuming schedules it from now and it refreshes once, not 168 times
    resumed = api.put("/api/v1/data-sources", json={"key": "paused", "status": "active"}).json()
    assert datetime.fromisoformat(resumed["nextRefreshAt"]) == clock.now
    scheduler.tick()
    scheduler.tick()
    assert refresher.refreshed(tenant) == ["paused", "paused"]
    after = api.get("/api/v1/data-sources/paused").json()
    assert datetime.fromisoformat(after["nextRefreshAt"]) == clock.now + timedelta(hours=1)


def test_a_broken_source_is_recorded_and_backs_off_while_others_refresh(
    api, tenant, clock, refresher, scheduler, local_api
):
    create(api, "Broken", status="active", schemaRefreshInterval=60)
    create(api, "Healthy", status="active", schemaRefreshInterval=60)
    refresher.script(
        "broken", RefreshOutcome(ok=False, error_code="connection_refused", error="connection refused", healthy=False)
    )

    scheduler.tick()
    clock.advance(minutes=1)
    scheduler.tick()  # healthy is due again; broken backs off to 2 minutes after its second failure

    assert refresher.refreshed(tenant).count("healthy") == 2
    broken = api.get("/api/v1/data-sources/broken").json()
    assert broken["failureCount"] == 2
    assert broken["failureReason"] == "connection_refused: connection refused"  # the code, then the message
    assert datetime.fromisoformat(broken["lastFailedConnectionAt"]) == clock.now
    assert broken["lastRefreshStatus"] == "failed"
    assert datetime.fromisoformat(broken["nextRefreshAt"]) == clock.now + timedelta(minutes=2)
    assert broken["state"]["healthy"] is False


def test_a_malformed_message_fails_alone_and_ends_in_the_dead_letter_queue(
    api, tenant, clock, refresher, scheduler, local_api
):
    sqs = local_api.aws.client("sqs")
    url = scheduler.queue_url(WORKER)
    dlq_url = sqs.get_queue_url(QueueName=physical_name("SchemaRefreshDeadLetterQueue"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 5
    assert redrive["deadLetterTargetArn"].endswith(":" + physical_name("SchemaRefreshDeadLetterQueue"))

    # Given a poison message in the same batch as a real refresh request
    poison = f"not a refresh request {uuid.uuid4()}"
    sqs.send_message(QueueUrl=url, MessageBody=poison)
    create(api, "Neighbour", status="active")
    sweep(local_api)

    # When the queue is drained, failed messages coming back at once (visibility 0) until redrive moves them
    report = scheduler.drain(visibility_timeout=0)

    # Then the neighbour was refreshed, and the poison message went to the DLQ after five receives
    assert refresher.refreshed(tenant) == ["neighbour"]
    assert report.failed >= 5
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert poison in [m["Body"] for m in dead]


def test_schema_and_health_changes_are_published_to_the_bus(api, tenant, clock, refresher, scheduler, bus_inbox):
    # Given a rule on the registry's bus that forwards its events to a queue we can read
    inbox = bus_inbox({"source": ["datasource-registry"]})
    create(api, "Changing", tested=False, status="active", credentials={"password": "pg-secret-value"})
    refresher.script(
        "changing",
        RefreshOutcome(ok=True, changed=True, version=3, diff_summary={"tablesAdded": 1, "columnsChanged": 2}),
    )

    scheduler.tick()  # the first check: the health changes
    scheduler.tick()  # then the refresh: the schema changes
    received = inbox()

    mine = [e for e in received if e["detail"]["tenantId"] == tenant]
    by_type = {e["detail-type"]: e["detail"] for e in mine}
    assert by_type["DataSourceSchemaChanged"]["diffSummary"] == {"tablesAdded": 1, "columnsChanged": 2}
    assert by_type["DataSourceSchemaChanged"]["version"] == 3
    assert by_type["DataSourceSchemaChanged"]["key"] == "changing"
    assert by_type["DataSourceHealthChanged"]["current"]["healthy"] is True
    assert "pg-secret-value" not in json.dumps(mine)
    assert refresher.calls[-1][2] == refresher.checks[-1][2] == {"password": "pg-secret-value"}


def test_two_sweeps_that_read_the_same_due_entry_claim_it_once(api, tenant, clock, local_api):
    created = create(api, "Raced", status="active")
    index = DynamoDbRefreshSchedule(local_api.aws.client("dynamodb"), physical_name("DataSourcesTable"))
    seen = [
        e for shard in range(DEFAULT_SHARDS) for e in index.due(shard, clock.now) if e.data_source_id == created["id"]
    ]

    claims = [index.claim(seen[0], clock.now + timedelta(minutes=45), token) for token in ("first", "second")]

    assert claims == [True, False]
    after = api.get("/api/v1/data-sources/raced").json()
    # The claim is the registry's own write: it is guarded by the internal revision, and the client's rowVersion
    # (the user's configuration) stays valid
    assert after["rowVersion"] == created["rowVersion"]
    assert (
        api.put(
            "/api/v1/data-sources", json={"key": "raced", "description": "d", "rowVersion": created["rowVersion"]}
        ).status_code
        == 200
    )
    assert datetime.fromisoformat(after["nextRefreshAt"]) == clock.now + timedelta(minutes=45)


def test_a_message_for_a_deleted_source_is_acknowledged(api, tenant, local_api):
    event = load_event("refresh_schema.json")
    event["Records"][0]["body"] = json.dumps({"tenantId": tenant, "dataSourceId": "ds_missing", "claim": "x"})

    # A message for a source that no longer exists is acknowledged: nothing to refresh, nothing to retry
    assert local_api.invoker.invoke(WORKER, event) == {"batchItemFailures": []}
