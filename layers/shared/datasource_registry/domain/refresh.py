"""When a data source's schema is next refreshed: the schedule policy, failure backoff and due-index sharding.

The policy, in order:

1. Only an `active` data source with `schema_auto_refresh` on is scheduled; anything else gets None.
2. The normal schedule. With a cron expression (003's `schedule.cron`, in `schedule.timezone`, default UTC):
   the first fire time strictly after `now`. Without one, every `interval_seconds` (001's
   `schema_refresh_interval`): `now` if the source has never been refreshed (refresh soon after activation),
   else `max(last_refresh_at + interval, now)`.
   Both forms schedule from `now` and never build a backlog: a source paused for a week refreshes once, soon
   after it is resumed, then resumes its rhythm from that refresh, not 168 times.
   `last_refresh_at` is the time of the last attempt, successful or not.
3. Backoff after failures: with `consecutive_failures = n > 0`, the next attempt is no sooner than
   `now + min(60 s * 2^(n-1), 24 h)` (60 s, 2 min, 4 min, ... capped at a day), and never sooner than the
   normal schedule either. Deterministic, no jitter: spreading load is the sharded due index's job.
4. The first connection check (000: a configured source reaches a healthy state by itself). A `draft` or
   `active` source whose configuration is complete (connection settings and the secrets they name) but whose
   connection has not been tested since it last changed awaits a check: it is due at once (after the backoff
   of failed attempts that tested nothing), whatever its refresh settings. The worker then tests the
   connection only; the refresh schedule (rules 1-3) resumes from that test. A test, background or
   foreground, ends the wait; a later change of connection settings or secrets starts it again. A source whose
   type has no connector (001's `other` names no system) is never checked: it stays "Configured, not tested".
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from datasource_registry.domain import catalogue
from datasource_registry.domain.cron import CronExpression
from datasource_registry.domain.rules import NOT_TESTED, health_of
from datasource_registry.domain.types import Status

if TYPE_CHECKING:
    from datasource_registry.domain.model import DataSource, DataSourceSpec

DEFAULT_SHARDS = 16
DEFAULT_TIMEZONE = "UTC"
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_CAP = timedelta(hours=24)

ACTIVE_STATUS = "active"
# Paused and archived sources are left alone: their owner stopped them on purpose.
CHECKED_STATUSES = frozenset({Status.DRAFT, Status.ACTIVE})
# Spec fields that decide when the schema is refreshed; changing one reschedules from now.
SCHEDULE_FIELDS = ("status", "schedule", "schema_auto_refresh", "schema_refresh_interval")


def next_refresh_at(
    *,
    cron: str | None,
    timezone: str | None,
    interval_seconds: int,
    auto_refresh: bool,
    status: str,
    now: datetime,
    last_refresh_at: datetime | None,
    consecutive_failures: int,
) -> datetime | None:
    """The UTC time the schema refresh is next due, or None when it is not scheduled (see the module doc)."""
    if status != ACTIVE_STATUS or not auto_refresh:
        return None
    _require_aware(now, "now")
    if consecutive_failures < 0:
        raise ValueError("consecutive_failures must not be negative")
    now = now.astimezone(UTC)

    if cron:
        scheduled = CronExpression.parse(cron).next_after(now, _zone(timezone or DEFAULT_TIMEZONE))
    else:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if last_refresh_at is None:
            scheduled = now
        else:
            _require_aware(last_refresh_at, "last_refresh_at")
            scheduled = max(last_refresh_at.astimezone(UTC) + timedelta(seconds=interval_seconds), now)

    if consecutive_failures > 0:
        return max(scheduled, now + failure_backoff(consecutive_failures))
    return scheduled


def refresh_due(source: DataSource, now: datetime) -> datetime | None:
    """When the source's schema refresh is next due by its own settings and failure streak (None: never)."""
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


def awaits_check(source: DataSource) -> bool:
    """Rule 4: configured, not tested since its connection last changed, and not stopped by its owner."""
    if source.spec.status not in CHECKED_STATUSES or health_of(source) != NOT_TESTED:
        return False
    spec = source.spec
    entry = catalogue.connector_of(spec.type.value if spec.type else None, spec.connector_key)
    return entry is not None and entry.capabilities.test


def scheduled_refresh(source: DataSource, now: datetime) -> datetime | None:
    """When the worker should next take the source (a refresh or its first check); None: not scheduled."""
    if awaits_check(source):
        return now.astimezone(UTC) + failure_backoff(source.refresh_failures)
    return refresh_due(source, now)


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


def failure_backoff(consecutive_failures: int) -> timedelta:
    """The least wait before retrying after `consecutive_failures` failures in a row (0 for none)."""
    if consecutive_failures <= 0:
        return timedelta(0)
    # Clamp the exponent so a long failure streak cannot build a huge number; 2^20 min is far past the cap.
    doublings = min(consecutive_failures - 1, 20)
    backoff: timedelta = BACKOFF_BASE * (1 << doublings)
    return min(backoff, BACKOFF_CAP)


def due_shard(data_source_id: str, shards: int = DEFAULT_SHARDS) -> int:
    """The shard (0 .. shards-1) of the sparse "refresh due" index that holds `data_source_id`.

    A stable hash (first 8 bytes of SHA-256), so the shard never changes across processes or Python versions,
    unlike the salted built-in `hash()`.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    digest = hashlib.sha256(data_source_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
