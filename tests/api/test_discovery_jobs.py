"""Discovery as a job, over HTTP on the local stack: waited for, or 202 and run by the refresh worker; one at a time per
source; a worker that dies is taken over; a job whose worker vanished reads as abandoned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datasource_registry.adapters.jobs import DynamoDbJobStore
from datasource_registry.domain.jobs import RUN_LEASE, DiscoveryJobs, JobStatus
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.types import Role
from datasource_registry.runtime import services
from devserver.template import physical_name

BASE = "/api/v1/data-sources"
ASYNC = {"Prefer": "respond-async"}


def pg_source(api, schema: str, **extra) -> dict:
    body = {
        "name": f"Jobs {schema}",
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "databaseName": "test",
        "includePatterns": [f"{schema}.*"],
        "credentials": {"username": "postgres", "password": "job-secret-value"},
        **extra,
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture
def schema(pg_schema) -> str:
    return pg_schema(
        'CREATE TABLE "{schema}".orders (id bigint PRIMARY KEY, total numeric(10,2));'
        'CREATE TABLE "{schema}".customers (id bigint PRIMARY KEY, email text NOT NULL);'
        'CREATE TABLE "{schema}".items (id bigint PRIMARY KEY)'
    )


def test_a_waited_discovery_answers_200_and_its_job_records_it(api, schema):
    source = pg_source(api, schema)

    answer = api.post(f"{BASE}/{source['id']}/discover-schema")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["version"], body["tableCount"], body["changed"]) == (1, 3, True)
    job = api.get(answer.headers["content-location"]).json()
    assert job["status"] == "succeeded" and job["result"] == body
    assert job["progress"] == {"tablesDone": 3, "tablesTotal": 3} and job["attempts"] == 1
    assert job["requestedBy"] and job["requestId"] and job["startedAt"] <= job["finishedAt"]
    assert "job-secret-value" not in answer.text + str(job)
    listed = api.get(f"{BASE}/{source['id']}/discoveries").json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]


def test_respond_async_answers_202_and_the_worker_runs_the_job(api, schema, scheduler):
    source = pg_source(api, schema)

    accepted = api.post(f"{BASE}/{source['id']}/discover-schema", headers=ASYNC)
    joined = api.post(f"{BASE}/{source['id']}/discover-schema", headers=ASYNC)  # while the first is queued

    assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
    location = accepted.headers["location"]
    assert location == f"{BASE}/{source['id']}/discoveries/{accepted.json()['id']}"
    assert joined.status_code == 202 and joined.json()["id"] == accepted.json()["id"]  # one job per source at once
    scheduler.drain()  # the refresh queue's worker
    done = api.get(location).json()
    assert done["status"] == "succeeded" and done["result"]["version"] == 1 and done["result"]["tableCount"] == 3
    assert api.get(f"{BASE}/{source['id']}/schema").json()["version"] == 1
    # the lock went with the job: the next request is a new job (no change: the same version)
    again = api.post(f"{BASE}/{source['id']}/discover-schema")
    assert again.status_code == 200 and again.json()["changed"] is False
    jobs = api.get(f"{BASE}/{source['id']}/discoveries", params={"limit": 1}).json()
    assert jobs["items"][0]["id"] != done["id"] and jobs["nextCursor"]  # newest first, in pages
    older = api.get(f"{BASE}/{source['id']}/discoveries", params={"limit": 1, "cursor": jobs["nextCursor"]}).json()
    assert [j["id"] for j in older["items"]] == [done["id"]]


def test_a_discovery_out_of_time_in_the_request_goes_to_the_worker_and_fails_there_with_its_code(
    api, silent_server, scheduler
):
    source = api.post(
        BASE,
        json={
            "name": "Silent",
            "type": "postgresql",
            "host": "127.0.0.1",
            "port": silent_server,
            "databaseName": "x",
            "connectionTimeout": 1,
        },
    ).json()

    answer = api.post(f"{BASE}/{source['id']}/discover-schema")

    assert answer.status_code == 202 and answer.json()["status"] == "queued" and answer.headers["retry-after"]
    scheduler.drain()
    job = api.get(answer.headers["location"]).json()
    assert job["status"] == "failed" and job["error"]["code"] == "TIMEOUT"


def test_bad_job_ids_cursors_and_other_tenants_answer_4xx(api, client_for, schema):
    source = pg_source(api, schema)
    job = api.post(f"{BASE}/{source['id']}/discover-schema", headers=ASYNC).json()

    assert api.get(f"{BASE}/{source['id']}/discoveries/not-a-job").status_code == 404
    assert api.get(f"{BASE}/{source['id']}/discoveries", params={"cursor": "!!"}).status_code == 400
    stranger = client_for("admin", tenant_id="t_someone_else")
    assert stranger.get(f"{BASE}/{source['id']}/discoveries/{job['id']}").status_code == 404
    assert stranger.post(f"{BASE}/{source['id']}/discover-schema").status_code == 404
    assert client_for("viewer").post(f"{BASE}/{source['id']}/discover-schema").status_code == 403
    assert client_for("viewer").get(f"{BASE}/{source['id']}/discoveries/{job['id']}").status_code == 200


class Crash(Exception):
    pass


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_worker_that_dies_is_taken_over_after_its_lease_and_a_vanished_one_reads_abandoned(
    api, tenant, local_api, schema
):
    source = pg_source(api, schema)
    clock = Clock()
    store = DynamoDbJobStore(local_api.aws.client("dynamodb"), physical_name("DataSourcesTable"))
    sent: list = []
    crashes = [True]

    class Discoverer:
        def discover_for_job(self, tenant_id, data_source_id, deadline_seconds, progress):
            if crashes.pop(0) if crashes else False:
                raise Crash  # the worker process dies mid-run
            return services().schemas.discover_for_job(tenant_id, data_source_id, deadline_seconds, progress)

        def record_discovered(self, tenant_id, data_source_id, result):
            services().schemas.record_discovered(tenant_id, data_source_id, result)

    class Queue:
        def send_job(self, job):
            sent.append(job)

    class Bus:
        def publish(self, detail_type, detail):
            pass

    jobs = DiscoveryJobs(store, Queue(), Discoverer(), Bus(), services().data_sources.get, clock)
    editor = Principal("alice", tenant, Role.EDITOR)
    job = jobs.request(editor, source["id"], "req-1", wait_seconds=None).job

    with pytest.raises(Crash):
        jobs.run_queued(tenant, source["id"], job.id)
    assert jobs.get(editor, source["id"], job.id).status is JobStatus.RUNNING
    assert "not ours" in jobs.run_queued(tenant, source["id"], job.id)  # an early redelivery: the lease holds
    clock.now += RUN_LEASE + timedelta(seconds=1)
    assert jobs.run_queued(tenant, source["id"], job.id) == "succeeded"  # taken over
    finished = jobs.get(editor, source["id"], job.id)
    assert (finished.status, finished.attempts, finished.result["version"]) == (JobStatus.SUCCEEDED, 2, 1)
    assert api.get(f"{BASE}/{source['id']}").json()["schemaDiscoveredAt"] == finished.result["discoveredAt"]
    assert jobs.run_queued(tenant, source["id"], job.id) == "already succeeded"  # a late duplicate

    # A job whose message is lost: it reads failed (ABANDONED) once its lease is over, and frees the source
    lost = jobs.request(editor, source["id"], "req-2", wait_seconds=None).job
    clock.now = lost.lease_until + timedelta(seconds=1)
    seen = jobs.get(editor, source["id"], lost.id)
    assert seen.status is JobStatus.FAILED and seen.error["code"] == "ABANDONED"
    fresh = jobs.request(editor, source["id"], "req-3", wait_seconds=None).job
    assert fresh.id != lost.id and [j.id for j in sent] == [job.id, lost.id, fresh.id]
    assert "SUPERSEDED" in str(
        store.start(lost, clock.now, clock.now + RUN_LEASE) or store.get(tenant, source["id"], lost.id)
    )


def test_a_job_that_finds_a_changed_schema_announces_it_with_its_drift(api, tenant, schema, bus_inbox):
    import json

    import psycopg

    inbox = bus_inbox({"detail": {"tenantId": [tenant]}})
    source = pg_source(api, schema)
    first = api.post(f"{BASE}/{source['id']}/discover-schema").json()
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".items ADD COLUMN note text')
        conn.execute(f'ALTER TABLE "{schema}".orders DROP COLUMN total')
    second = api.post(f"{BASE}/{source['id']}/discover-schema")
    received = inbox()

    changed = [e["detail"] for e in received if e["detail-type"] == "DataSourceSchemaChanged"]
    assert [c["version"] for c in changed] == [first["version"], 2]
    latest = changed[-1]
    assert latest["discoveryJob"] == second.headers["content-location"].rsplit("/", 1)[-1]
    assert latest["severityCounts"] == {"breaking": 1, "nonBreaking": 1}
    assert latest["diffPath"].endswith("from=1&to=2") and "job-secret-value" not in json.dumps(received)


def test_a_job_that_cannot_be_queued_is_failed_and_frees_the_source(api, tenant, local_api, schema):
    source = pg_source(api, schema)
    store = DynamoDbJobStore(local_api.aws.client("dynamodb"), physical_name("DataSourcesTable"))
    sent: list = []

    class DownQueue:
        down = True

        def send_job(self, job):
            if self.down:
                raise ConnectionResetError("SQS unreachable")
            sent.append(job)

    class Bus:
        def publish(self, detail_type, detail):
            pass

    queue = DownQueue()
    jobs = DiscoveryJobs(store, queue, services().schemas, Bus(), services().data_sources.get, Clock())
    editor = Principal("alice", tenant, Role.EDITOR)

    with pytest.raises(ConnectionResetError):
        jobs.request(editor, source["id"], "req-1", wait_seconds=None)

    (lost,) = jobs.list(editor, source["id"], 10, None).items
    assert lost.status is JobStatus.FAILED and lost.error["code"] == "NOT_QUEUED"
    queue.down = False
    retried = jobs.request(editor, source["id"], "req-2", wait_seconds=None).job
    assert retried.id != lost.id and [job.id for job in sent] == [retried.id]  # a new job, really queued
