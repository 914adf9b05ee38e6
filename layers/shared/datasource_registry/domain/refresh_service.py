"""Scheduled schema refresh: keep `next_refresh_at` right, claim each due refresh once, run it once, record it.

The life of one scheduled refresh (docs/scheduling.md has the picture):

1. Every write of a source keeps `next_refresh_at` (the sparse due index follows it) from the policy in
   domain/refresh.py; pausing clears it, resuming schedules from now.
2. The sweeper reads only due entries of the index and claims each with a conditional write: the entry moves
   to `now + LEASE` and gets a fresh claim token, only if it still reads what the sweeper read. Of two
   overlapping sweeps only one claim succeeds; the winner sends `RefreshRequest(claim=token)` to the queue.
3. The worker starts a request only if the source still carries that claim token and no other delivery
   started it less than RUN_TIMEOUT ago (a conditional write on rowVersion marks the start), so a message
   delivered twice runs once. It then records the outcome and the next due time, and clears the claim.
4. A run that never finishes (crash, lost message) leaves the lease in the index: when it expires a later
   sweep claims the source again with a new token, and any old message is ignored because its token is stale.
"""

from __future__ import annotations

import logging
import secrets as random_tokens
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from datasource_registry.domain.concurrency import settle
from datasource_registry.domain.credentials import credentials_in_force
from datasource_registry.domain.errors import DependencyUnavailable
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.ports import (
    DataSourceRepository,
    EventPublisher,
    RefreshOutcome,
    RefreshQueue,
    RefreshRequest,
    RefreshSchedule,
    SchemaRefresher,
    SecretStore,
)
from datasource_registry.domain.refresh import DEFAULT_SHARDS, next_refresh_at
from datasource_registry.domain.rules import health_of

log = logging.getLogger(__name__)

# A claimed refresh not finished within the lease is claimed again by a later sweep (with a new token).
# Longer than SQS's whole retry span (5 receives, 30 min visibility), so a message that keeps failing is retried
# under its own claim and reaches the dead-letter queue before a new claim supersedes it.
LEASE = timedelta(hours=3)
# The worker function's timeout: a start older than this belongs to a run that died, and may be taken over.
RUN_TIMEOUT = timedelta(minutes=5)
# One sweep claims at most this many sources; the rest stay due and are taken by the next tick.
MAX_CLAIMS_PER_SWEEP = 5000
SEND_BATCH = 10  # SQS SendMessageBatch takes ten messages

REFRESHER_ERROR = "refresher_error"
SCHEMA_CHANGED = "DataSourceSchemaChanged"
HEALTH_CHANGED = "DataSourceHealthChanged"

# Spec fields that decide when the schema is refreshed; changing one reschedules from now.
SCHEDULE_FIELDS = ("status", "schedule", "schema_auto_refresh", "schema_refresh_interval")


class RefreshStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def scheduled_refresh(source: DataSource, now: datetime) -> datetime | None:
    """When the source's schema is next due by its own settings and failure streak (None: not scheduled)."""
    spec = source.spec
    return next_refresh_at(
        cron=spec.schedule.cron,
        timezone=spec.schedule.timezone,
        interval_seconds=spec.schema_refresh_interval,
        auto_refresh=spec.schema_auto_refresh,
        status=spec.status.value,
        now=now,
        last_refresh_at=source.last_refresh_at,
        consecutive_failures=source.refresh_failures,
    )


def schedule_changed(before: DataSourceSpec, after: DataSourceSpec) -> bool:
    return any(getattr(before, name) != getattr(after, name) for name in SCHEDULE_FIELDS)


def rescheduled(source: DataSource, now: datetime, *, forget_failures: bool = False) -> dict[str, Any]:
    """Updates that schedule the source afresh from `now`, dropping any claim in flight (its run becomes stale)."""
    failures = 0 if forget_failures else source.refresh_failures
    basis = source.model_copy(update={"refresh_failures": failures})
    return {
        "refresh_failures": failures,
        "next_refresh_at": scheduled_refresh(basis, now),
        "refresh_claim": None,
        "refresh_started_at": None,
    }


# -- the sweeper ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepReport:
    due: int
    claimed: int
    batches: int


class RefreshSweeper:
    """Claims what the due index says is due (once, however many sweeps overlap) and queues it."""

    def __init__(
        self,
        schedule: RefreshSchedule,
        queue: RefreshQueue,
        clock: Callable[[], datetime],
        shards: int = DEFAULT_SHARDS,
        lease: timedelta = LEASE,
        max_claims: int = MAX_CLAIMS_PER_SWEEP,
        new_token: Callable[[], str] = lambda: random_tokens.token_urlsafe(16),
    ) -> None:
        self._schedule = schedule
        self._queue = queue
        self._clock = clock
        self._shards = shards
        self._lease = lease
        self._max_claims = max_claims
        self._new_token = new_token

    def sweep(self) -> SweepReport:
        now = self._clock()
        due = claimed = batches = 0
        pending: list[RefreshRequest] = []
        for shard in range(self._shards):
            for entry in self._schedule.due(shard, now):
                if claimed >= self._max_claims:
                    break
                due += 1
                token = self._new_token()
                if self._schedule.claim(entry, now + self._lease, token):
                    pending.append(RefreshRequest(entry.tenant_id, entry.data_source_id, token))
                    claimed += 1
                if len(pending) == SEND_BATCH:
                    # Queue full batches as they fill: a claim waits in its lease only briefly, and no batch is partial.
                    batches += self._queue.send(pending)
                    pending = []
        if pending:
            batches += self._queue.send(pending)
        return SweepReport(due=due, claimed=claimed, batches=batches)


# -- the worker ----------------------------------------------------------------------------------------------
class RunStatus(StrEnum):
    REFRESHED = "refreshed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    reason: str = ""
    events: tuple[str, ...] = ()


class RefreshWorker:
    """Runs one claimed refresh at most once and records its outcome on the source."""

    def __init__(
        self,
        repository: DataSourceRepository,
        secrets: SecretStore,
        refresher: SchemaRefresher,
        publisher: EventPublisher,
        clock: Callable[[], datetime],
        run_timeout: timedelta = RUN_TIMEOUT,
    ) -> None:
        self._repository = repository
        self._secrets = secrets
        self._refresher = refresher
        self._publisher = publisher
        self._clock = clock
        self._run_timeout = run_timeout

    def run(self, request: RefreshRequest) -> RunResult:
        started = self._start(request)
        if isinstance(started, str):
            return RunResult(RunStatus.SKIPPED, started)
        try:
            outcome = self._refresher.refresh(started, credentials_in_force(self._secrets, started))
        except (PermissionError, LookupError) as refused:
            code = "PERMISSION_DENIED" if isinstance(refused, PermissionError) else "NOT_FOUND"
            outcome = RefreshOutcome(ok=False, error_code=code, error=str(refused), healthy=False)
        except Exception as exc:
            # The refresher should answer failures as outcomes; one that raises is recorded (and backed off)
            # like any failure rather than retried forever. Only the type is kept: the message may hold secrets.
            log.warning("the schema refresher raised %s", type(exc).__name__)
            outcome = RefreshOutcome(
                ok=False,
                error_code=REFRESHER_ERROR,
                error=f"the schema refresh failed unexpectedly ({type(exc).__name__})",
                healthy=started.last_test_ok is True,
            )
        now = self._clock()
        published = self._publish(started, outcome, now)
        self._record(request, outcome, now)
        status = RunStatus.REFRESHED if outcome.ok else RunStatus.FAILED
        return RunResult(status, outcome.error_code or "", published)

    def _start(self, request: RefreshRequest) -> DataSource | str:
        """Mark the claimed run as started (a conditional write); a reason to skip when it is not ours."""

        def attempt() -> DataSource | str:
            current = self._repository.get(request.tenant_id, request.data_source_id)
            if current is None:
                return "the data source no longer exists"
            if current.refresh_claim != request.claim:
                return "the claim is stale: already refreshed, rescheduled or claimed again"
            now = self._clock()
            if current.refresh_started_at is not None and now - current.refresh_started_at < self._run_timeout:
                return "another delivery of this claim is running"
            started = current.model_copy(update={"refresh_started_at": now})
            self._repository.replace(current, started)  # StaleVersion: someone else wrote, read again and decide again
            return started

        return settle(attempt, exhausted=_kept_changing)

    def _publish(self, before: DataSource, outcome: RefreshOutcome, now: datetime) -> tuple[str, ...]:
        """Events go out before the outcome is written: a retry may repeat one (at least once), never lose it."""
        published: list[str] = []
        identity = {"tenantId": before.tenant_id, "dataSourceId": before.id, "key": before.key}
        if outcome.ok and outcome.changed:
            self._publisher.publish(
                SCHEMA_CHANGED,
                {**identity, "version": outcome.version, "diffSummary": outcome.diff_summary or {}},
            )
            published.append(SCHEMA_CHANGED)
        old_health = health_of(before)
        new_health = health_of(before.model_copy(update=outcome_updates(before, outcome, now)))
        if old_health != new_health:
            self._publisher.publish(
                HEALTH_CHANGED,
                {
                    **identity,
                    "previous": old_health.model_dump(),
                    "current": new_health.model_dump(),
                    "checkedAt": now.isoformat(),
                },
            )
            published.append(HEALTH_CHANGED)
        return tuple(published)

    def _record(self, request: RefreshRequest, outcome: RefreshOutcome, now: datetime) -> None:
        """The outcome onto the latest record; the registry's own write, so rowVersion stays the user's."""

        def attempt() -> None:
            current = self._repository.get(request.tenant_id, request.data_source_id)
            if current is None:
                return
            update = outcome_updates(current, outcome, now)
            if current.refresh_claim == request.claim:
                after = current.model_copy(update=update)
                update.update(
                    next_refresh_at=scheduled_refresh(after, now), refresh_claim=None, refresh_started_at=None
                )
            # else: the user rescheduled or paused meanwhile; keep their schedule, still record what happened.
            self._repository.replace(current, current.model_copy(update=update))

        settle(attempt, exhausted=_kept_changing)


def _kept_changing() -> Exception:
    return DependencyUnavailable("The data source kept changing during the refresh; the message is retried.")


def connection_checked(source: DataSource, now: datetime, *, healthy: bool, reason: str | None) -> dict[str, Any]:
    """The one outcome rule of a connection check, a user's test or a scheduled refresh alike.

    failureCount counts consecutive failed checks: a success sets it to 0 (and the state to Healthy), a failure
    adds one and says why.
    """
    if healthy:
        return {
            "last_tested_at": now,
            "last_successful_connection_at": now,
            "last_test_ok": True,
            "failure_count": 0,
            "failure_reason": None,
        }
    return {
        "last_tested_at": now,
        "last_failed_connection_at": now,
        "last_test_ok": False,
        "failure_count": source.failure_count + 1,
        "failure_reason": (reason or "the connection test failed")[:500],
    }


def outcome_updates(source: DataSource, outcome: RefreshOutcome, now: datetime) -> dict[str, Any]:
    """The fields a refresh outcome sets on the source (the schedule itself is decided by the caller).

    The connection part follows `connection_checked`; `refresh_failures` counts consecutive failed refreshes
    (it drives the backoff), whatever failed in them.
    """
    update: dict[str, Any] = {
        "last_refresh_at": now,
        "last_refresh_status": RefreshStatus.SUCCEEDED.value if outcome.ok else RefreshStatus.FAILED.value,
        "refresh_failures": 0 if outcome.ok else source.refresh_failures + 1,
    }
    reason = outcome.error or outcome.error_code or "schema refresh failed"
    if outcome.error_code != REFRESHER_ERROR:  # a refresher that raised tested nothing
        update.update(connection_checked(source, now, healthy=outcome.healthy, reason=reason))
    if outcome.ok:
        update["schema_discovered_at"] = now
    else:
        update["failure_reason"] = reason[:500]  # why the refresh failed, even when the connection itself is fine
    return update
