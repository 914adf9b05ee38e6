"""Discovery as a job: a schema discovery that outlives one API request, runs on the refresh worker, and is watched.

The life of a job:

1. `request` (POST .../discover-schema) takes the source's job lock for a new job, or joins the job that holds it:
   one discovery at a time per source. The lock has a lease, so a job whose worker vanished cannot hold it forever.
2. Asked to wait (no `Prefer: respond-async`), the API function runs the job itself within its own budget; a
   job that needs longer (the connector's deadline passes) is queued for the worker, whose time limit is minutes.
   Asked not to wait, the job is queued at once. Either way the answer names the job.
3. The worker (the scheduled refresh's SQS worker, the same path) starts a queued job only while the job still
   holds the lock, marks it running with a fresh lease, discovers, and records `succeeded` (the version, whether it
   changed, the diff summary) or `failed` (a stable code and a message free of secrets), then releases the lock.
   A worker that crashes leaves the job running: SQS delivers the message again after its visibility timeout and a
   later delivery takes the job over once its run lease has passed; after the queue's last retry the message goes
   to the dead-letter queue and the job reads `failed` (`ABANDONED`) once its lease is over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from datasource_registry.domain.errors import DiscoveryFailed, NotFound
from datasource_registry.domain.ids import new_job_id
from datasource_registry.domain.ports import EventPublisher
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.types import Role

log = logging.getLogger(__name__)

# A queued job not started within this is taken to be lost (its message never arrived or was dead-lettered).
QUEUED_LEASE = timedelta(minutes=15)
# The worker's time limit (its function timeout is 300 s) plus room to record: a running job older than this died.
RUN_LEASE = timedelta(minutes=6)
# What a job may spend discovering in the worker (the function's timeout less room to record the outcome).
WORKER_SECONDS = 270.0
# Jobs are kept this long (DynamoDB TTL), then expire; so are the results they point at only by version.
RETENTION = timedelta(days=30)
WORKER = "registry:discovery-worker"
SCHEMA_CHANGED = "DataSourceSchemaChanged"  # the event a scheduled refresh publishes too (refresh_service)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


@dataclass(frozen=True)
class DiscoveryJob:
    tenant_id: str
    data_source_id: str
    id: str
    status: JobStatus
    requested_by: str
    request_id: str | None
    created_at: datetime
    lease_until: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    tables_done: int | None = None
    tables_total: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    expires_at: datetime | None = None

    def seen_at(self, now: datetime) -> DiscoveryJob:
        """The job as a reader should see it: one whose lease ran out unfinished was abandoned by its worker."""
        if self.status in FINISHED or now < self.lease_until:
            return self
        return replace(
            self,
            status=JobStatus.FAILED,
            finished_at=self.lease_until,
            error={"code": "ABANDONED", "message": "the job's worker stopped before it finished; request it again"},
        )


@dataclass(frozen=True)
class JobPage:
    items: list[DiscoveryJob]
    next_cursor: str | None = None


@dataclass
class Progress:
    """Where a running discovery is: tables stored of those the connector listed."""

    done: int = 0
    total: int | None = None
    listeners: list[Callable[[int, int | None], None]] = field(default_factory=list)

    def __call__(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        for listener in self.listeners:
            listener(done, total)


class JobStore(Protocol):
    def begin(self, job: DiscoveryJob, now: datetime) -> DiscoveryJob:
        """Take the source's job lock for `job` and store it queued; or answer the unfinished job holding the lock."""

    def get(self, tenant_id: str, data_source_id: str, job_id: str) -> DiscoveryJob | None: ...

    def list(self, tenant_id: str, data_source_id: str, limit: int, cursor: str | None) -> JobPage:
        """Newest first."""

    def start(self, job: DiscoveryJob, now: datetime, lease_until: datetime) -> DiscoveryJob | None:
        """Mark it running (attempt + 1, lease renewed), only if it still holds the lock and is queued, or running
        past its lease (its worker died); None otherwise."""

    def requeue(self, job: DiscoveryJob, lease_until: datetime) -> DiscoveryJob:
        """Back to queued for the worker (the API's own run ran out of time)."""

    def progress(self, job: DiscoveryJob, done: int, total: int | None) -> None: ...

    def finish(
        self, job: DiscoveryJob, now: datetime, *, result: dict[str, Any] | None, error: dict[str, str] | None
    ) -> DiscoveryJob:
        """Record the outcome and release the lock (if this job still holds it)."""


class JobQueue(Protocol):
    def send_job(self, job: DiscoveryJob) -> None:
        """Queue the job for the worker (the refresh queue, a message naming the job, no configuration)."""


@dataclass(frozen=True)
class Discovered:
    """A job's discovery: the result it records, and the drift notice of a changed schema (for the event)."""

    result: dict[str, Any]
    drift: dict[str, Any] | None = None


class Discoverer(Protocol):
    def discover_for_job(
        self, tenant_id: str, data_source_id: str, deadline_seconds: float, progress: Callable[[int, int | None], None]
    ) -> Discovered:
        """Discover and store the snapshot; the result (version, changed, diff summary ...). Raises DiscoveryFailed
        or NotFound. The source itself is not stamped yet."""

    def record_discovered(self, tenant_id: str, data_source_id: str, result: dict[str, Any]) -> None:
        """Stamp the source with the discovery (its schemaDiscoveredAt, recordCount): the run's last write."""


@dataclass(frozen=True)
class Requested:
    job: DiscoveryJob
    done: bool  # False: still queued or running when the answer was due (202)


class DiscoveryJobs:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        discoverer: Discoverer,
        publisher: EventPublisher,
        find_source: Callable[[Principal, str], Any],
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._queue = queue
        self._discoverer = discoverer
        self._publisher = publisher
        self._find_source = find_source
        self._clock = clock
        self._sleep = sleep

    # -- the API ---------------------------------------------------------------------------------------------
    def request(
        self, principal: Principal, reference: str, request_id: str | None, *, wait_seconds: float | None
    ) -> Requested:
        """Start (or join) the source's discovery. `wait_seconds` None: answer at once (respond-async)."""
        principal.require_write()
        source = self._find_source(principal, reference)
        now = self._clock()
        fresh = DiscoveryJob(
            tenant_id=principal.tenant_id,
            data_source_id=source.id,
            id=new_job_id(int(now.timestamp() * 1000)),
            status=JobStatus.QUEUED,
            requested_by=principal.subject,
            request_id=request_id,
            created_at=now,
            lease_until=now + QUEUED_LEASE,
            expires_at=now + RETENTION,
        )
        job = self._store.begin(fresh, now)
        joined = job.id != fresh.id
        if wait_seconds is None:
            if not joined:
                self._send(job)
            return Requested(job, done=False)
        if joined:
            return self._wait(job, wait_seconds)
        return self._run_here(job, wait_seconds)

    def get(self, principal: Principal, reference: str, job_id: str) -> DiscoveryJob:
        source = self._find_source(principal, reference)
        job = self._store.get(principal.tenant_id, source.id, job_id)
        if job is None:
            raise NotFound(f"Discovery job {job_id!r} of data source {reference!r} was not found.")
        return job.seen_at(self._clock())

    def list(self, principal: Principal, reference: str, limit: int, cursor: str | None) -> JobPage:
        source = self._find_source(principal, reference)
        page = self._store.list(principal.tenant_id, source.id, limit, cursor)
        now = self._clock()
        return JobPage([job.seen_at(now) for job in page.items], page.next_cursor)

    def _wait(self, job: DiscoveryJob, wait_seconds: float) -> Requested:
        until = time.monotonic() + wait_seconds
        while True:
            current = self._store.get(job.tenant_id, job.data_source_id, job.id) or job
            current = current.seen_at(self._clock())
            if current.status in FINISHED:
                return Requested(current, done=True)
            if time.monotonic() >= until:
                return Requested(current, done=False)
            self._sleep(min(0.5, max(0.05, until - time.monotonic())))

    def _run_here(self, job: DiscoveryJob, wait_seconds: float) -> Requested:
        """The API function runs the job itself; one that needs longer than the request may take goes to the worker."""
        now = self._clock()
        started = self._store.start(job, now, now + RUN_LEASE)
        if started is None:
            return self._wait(job, wait_seconds)
        outcome = self._run(started, wait_seconds)
        if outcome is None:  # out of time: the worker, whose limit is minutes, runs it again from the start
            queued = self._store.requeue(started, self._clock() + QUEUED_LEASE)
            self._send(queued)
            return Requested(queued, done=False)
        return Requested(outcome, done=True)

    def _send(self, job: DiscoveryJob) -> None:
        """Queue the job for the worker; one that could not be queued is failed and frees the source at once, so the
        answer (503) is true and a retry starts a new job instead of joining one no worker will ever run."""
        try:
            self._queue.send_job(job)
        except Exception:
            error = {"code": "NOT_QUEUED", "message": "the job could not be queued for the worker; request it again"}
            self._store.finish(job, self._clock(), result=None, error=error)
            raise

    # -- the worker ------------------------------------------------------------------------------------------
    def run_queued(self, tenant_id: str, data_source_id: str, job_id: str) -> str:
        """Run a queued job once (the worker's entry); answers what happened, for the log."""
        job = self._store.get(tenant_id, data_source_id, job_id)
        if job is None:
            return "no such job (expired or never stored)"
        if job.status in FINISHED:
            return f"already {job.status.value}"
        now = self._clock()
        started = self._store.start(job, now, now + RUN_LEASE)
        if started is None:
            return "not ours to run: another delivery runs it, or a newer job holds the lock"
        finished = self._run(started, WORKER_SECONDS, in_worker=True)
        return finished.status.value if finished else "failed"

    def _run(self, job: DiscoveryJob, seconds: float, *, in_worker: bool = False) -> DiscoveryJob | None:
        """Discover and record the outcome; None when the deadline passed and the job should go to the worker."""
        progress = Progress()
        progress.listeners.append(lambda done, total: self._store.progress(job, done, total))
        try:
            discovered = self._discoverer.discover_for_job(job.tenant_id, job.data_source_id, seconds, progress)
        except DiscoveryFailed as failure:
            if failure.code == "TIMEOUT" and not in_worker:
                return None
            error = {"code": failure.code, "message": failure.detail}
            return self._store.finish(job, self._clock(), result=None, error=error)
        except NotFound:
            error = {"code": "NOT_FOUND", "message": "the data source was deleted"}
            return self._store.finish(job, self._clock(), result=None, error=error)
        result = discovered.result
        if result.get("changed"):
            # As a scheduled refresh does, before the outcome is written: a retry may repeat it, never lose it.
            self._publisher.publish(
                SCHEMA_CHANGED,
                {
                    "tenantId": job.tenant_id,
                    "dataSourceId": job.data_source_id,
                    "version": result.get("version"),
                    "diffSummary": result.get("diff") or {},
                    "discoveryJob": job.id,
                    **(discovered.drift or {}),
                },
            )
        finished = self._store.finish(job, self._clock(), result=result, error=None)
        # Last: a failure before this point leaves the source as it was (the answer is 503, a retry runs again).
        self._discoverer.record_discovered(job.tenant_id, job.data_source_id, result)
        return finished


def worker_principal(tenant_id: str) -> Principal:
    """How the worker reads a tenant's source: as the registry, within that one tenant."""
    return Principal(WORKER, tenant_id, Role.ADMIN)
