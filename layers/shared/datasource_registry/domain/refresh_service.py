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

from datasource_registry.domain.errors import DependencyUnavailable
from datasource_registry.domain.jobs import SCHEMA_CHANGED
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.ports import (
    EventPublisher,
    RefreshOutcome,
    RefreshQueue,
    RefreshRequest,
    RefreshSchedule,
    SchemaRefresher,
)
from datasource_registry.domain.refresh import DEFAULT_SHARDS, awaits_check, refresh_due, scheduled_refresh
from datasource_registry.domain.rules import connection_changed, connection_checked, health_of
from datasource_registry.domain.service import DataSourceService

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
HEALTH_CHANGED = "DataSourceHealthChanged"


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
class RefreshStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
    """Runs one claimed refresh (or first connection check) at most once and records its outcome on the source.

    Every write it makes goes through `DataSourceService.apply_registry_update`, the one path of the registry's
    own writes: retried onto the latest record, rowVersion left to the user, the due time kept right.
    """

    def __init__(
        self,
        data_sources: DataSourceService,
        refresher: SchemaRefresher,
        publisher: EventPublisher,
        clock: Callable[[], datetime],
        run_timeout: timedelta = RUN_TIMEOUT,
    ) -> None:
        self._data_sources = data_sources
        self._refresher = refresher
        self._publisher = publisher
        self._clock = clock
        self._run_timeout = run_timeout

    def run(self, request: RefreshRequest) -> RunResult:
        started = self._start(request)
        if isinstance(started, str):
            return RunResult(RunStatus.SKIPPED, started)
        check_only = awaits_check(started)  # its first connection check comes before any refresh
        try:
            credentials = self._data_sources.credentials_of(started)
            if check_only:
                outcome = self._refresher.check(started, credentials)
            else:
                outcome = self._refresher.refresh(started, credentials)
        except (PermissionError, LookupError) as refused:
            code = "PERMISSION_DENIED" if isinstance(refused, PermissionError) else "NOT_FOUND"
            outcome = RefreshOutcome(
                ok=False, error_code=code, error=str(refused), healthy=False, checked_only=check_only
            )
        except Exception as exc:
            # The refresher should answer failures as outcomes; one that raises is recorded (and backed off)
            # like any failure rather than retried forever. Only the type is kept: the message may hold secrets.
            log.warning("the schema refresher raised %s", type(exc).__name__)
            outcome = RefreshOutcome(
                ok=False,
                error_code=REFRESHER_ERROR,
                error=f"the schema refresh failed unexpectedly ({type(exc).__name__})",
                healthy=started.last_test_ok is True,
                checked_only=check_only,
            )
        now = self._clock()
        published = self._publish(started, outcome, now)
        self._record(request, started, outcome, now)
        status = RunStatus.REFRESHED if outcome.ok else RunStatus.FAILED
        return RunResult(status, outcome.error_code or "", published)

    def _start(self, request: RefreshRequest) -> DataSource | str:
        """Mark the claimed run as started (a conditional write); a reason to skip when it is not ours."""
        skip: list[str] = []

        def mark(current: DataSource) -> dict[str, Any] | None:
            now = self._clock()
            if current.refresh_claim != request.claim:
                skip.append("the claim is stale: already refreshed, rescheduled or claimed again")
                return None
            if current.refresh_started_at is not None and now - current.refresh_started_at < self._run_timeout:
                skip.append("another delivery of this claim is running")
                return None
            if refresh_due(current, now) is None and not awaits_check(current):
                # Claimed for a first check that a foreground test made moot: let the schedule say what is next.
                skip.append("nothing is due any more: the connection was tested meanwhile")
                return {"refresh_claim": None, "refresh_started_at": None, "next_refresh_at": None}
            return {"refresh_started_at": now}

        started = self._data_sources.apply_registry_update(
            request.tenant_id, request.data_source_id, mark, exhausted=_kept_changing
        )
        if started is None:
            return "the data source no longer exists"
        return skip[-1] if skip else started

    def _publish(self, before: DataSource, outcome: RefreshOutcome, now: datetime) -> tuple[str, ...]:
        """Events go out before the outcome is written: a retry may repeat one (at least once), never lose it."""
        published: list[str] = []
        identity = {"tenantId": before.tenant_id, "dataSourceId": before.id, "key": before.key}
        if outcome.ok and outcome.changed:
            self._publisher.publish(
                SCHEMA_CHANGED,
                {
                    **identity,
                    "version": outcome.version,
                    "diffSummary": outcome.diff_summary or {},
                    **(outcome.drift or {}),
                },
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

    def _record(self, request: RefreshRequest, started: DataSource, outcome: RefreshOutcome, now: datetime) -> None:
        """The outcome onto the latest record; the registry's own write, so rowVersion stays the user's."""

        def record(current: DataSource) -> dict[str, Any]:
            # A test of a connection that changed meanwhile says nothing about the new one.
            tested = not (
                connection_changed(started.spec, current.spec) or started.secret_version != current.secret_version
            )
            update = outcome_updates(current, outcome, now, tested_current=tested)
            if current.refresh_claim == request.claim:
                after = current.model_copy(update=update)
                update.update(
                    next_refresh_at=scheduled_refresh(after, now), refresh_claim=None, refresh_started_at=None
                )
            # else: the user rescheduled or paused meanwhile; keep their schedule, still record what happened.
            return update

        self._data_sources.apply_registry_update(
            request.tenant_id, request.data_source_id, record, exhausted=_kept_changing
        )


def _kept_changing() -> Exception:
    return DependencyUnavailable("The data source kept changing during the refresh; the message is retried.")


def outcome_updates(
    source: DataSource, outcome: RefreshOutcome, now: datetime, *, tested_current: bool = True
) -> dict[str, Any]:
    """The fields an outcome sets on the source (the schedule itself is decided by the caller).

    The connection part follows `connection_checked` (the one rule for user tests and the registry's own), unless
    the refresher raised (it tested nothing) or the connection changed while it ran (`tested_current=False`).
    `refresh_failures` counts consecutive failed runs (it drives the backoff): a refresh whatever failed in it, a
    first check only when it tested nothing.
    """
    update: dict[str, Any] = {}
    tested = outcome.error_code != REFRESHER_ERROR
    # As a user's test records it (schemas.tested_reason): the stable code, then the scrubbed message.
    reason = ": ".join(part for part in (outcome.error_code, outcome.error) if part) or "schema refresh failed"
    if tested and tested_current:
        update.update(connection_checked(source, now, healthy=outcome.healthy, reason=reason))
    if outcome.checked_only:
        update["refresh_failures"] = 0 if tested else source.refresh_failures + 1
        return update
    update.update(
        last_refresh_at=now,
        last_refresh_status=RefreshStatus.SUCCEEDED.value if outcome.ok else RefreshStatus.FAILED.value,
        refresh_failures=0 if outcome.ok else source.refresh_failures + 1,
    )
    if outcome.ok:
        update["schema_discovered_at"] = now
    else:
        update["failure_reason"] = reason[:500]  # why the refresh failed, even when the connection itself is fine
    return update
