"""The schema refresh policy: who is scheduled, when, how failures back off, and which shard is due."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from datasource_registry.domain.refresh import (
    BACKOFF_CAP,
    DEFAULT_SHARDS,
    due_shard,
    failure_backoff,
    next_refresh_at,
)
from datasource_registry.domain.types import Status

NOW = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)
HOUR = 3600


def schedule(**overrides: Any) -> datetime | None:
    """next_refresh_at for an active, auto-refreshing, hourly source that has never been refreshed."""
    arguments: dict[str, Any] = {
        "cron": None,
        "timezone": None,
        "interval_seconds": HOUR,
        "auto_refresh": True,
        "status": "active",
        "now": NOW,
        "last_refresh_at": None,
        "consecutive_failures": 0,
    }
    arguments.update(overrides)
    return next_refresh_at(**arguments)


# --- who is scheduled --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "paused", "archived", Status.PAUSED])
def test_only_active_sources_are_scheduled(status: str) -> None:
    assert schedule(status=status) is None
    assert schedule(status=status, cron="0 2 * * *") is None


def test_auto_refresh_off_is_not_scheduled() -> None:
    assert schedule(auto_refresh=False) is None
    assert schedule(auto_refresh=False, cron="0 2 * * *") is None


def test_status_enum_counts_as_active() -> None:
    assert schedule(status=Status.ACTIVE) == NOW


# --- interval schedules -----------------------------------------------------------------------------------


def test_a_newly_activated_source_refreshes_now() -> None:
    assert schedule(last_refresh_at=None) == NOW


def test_a_recently_refreshed_source_waits_for_the_interval() -> None:
    last = NOW - timedelta(minutes=10)
    assert schedule(last_refresh_at=last) == last + timedelta(seconds=HOUR)


def test_resuming_after_a_long_pause_refreshes_once_then_keeps_the_rhythm() -> None:
    # Given a source last refreshed a week ago (paused since) and resumed now
    week_ago = NOW - timedelta(days=7)
    # When it is scheduled / Then it is due now, once, not for each of the 168 missed hours
    due = schedule(last_refresh_at=week_ago)
    assert due == NOW
    # And after that refresh runs the next one is an interval later
    assert schedule(now=NOW + timedelta(seconds=5), last_refresh_at=NOW) == NOW + timedelta(seconds=HOUR)


def test_result_is_utc_whatever_zone_the_inputs_use() -> None:
    tokyo_now = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    due = schedule(now=tokyo_now, last_refresh_at=NOW - timedelta(minutes=30))
    assert due == NOW + timedelta(minutes=30)
    assert due is not None and due.tzinfo is UTC


@pytest.mark.parametrize("interval", [0, -60])
def test_interval_must_be_positive(interval: int) -> None:
    with pytest.raises(ValueError, match="interval_seconds must be positive"):
        schedule(interval_seconds=interval)


@pytest.mark.parametrize("field", ["now", "last_refresh_at"])
def test_naive_times_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a timezone-aware datetime"):
        schedule(**{field: NOW.replace(tzinfo=None)})


# --- cron schedules ---------------------------------------------------------------------------------------


def test_cron_schedule_uses_its_zone() -> None:
    # 003's example: daily at 02:00 New York time; on 2026-11-23 New York is on EST (UTC-5)
    assert schedule(cron="0 2 * * *", timezone="America/New_York") == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_cron_schedule_defaults_to_utc() -> None:
    assert schedule(cron="0 2 * * *", timezone=None) == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_cron_schedule_starts_from_now_not_from_the_last_refresh() -> None:
    # A cron source resumed after a week fires at its next slot, with no catch-up run
    due = schedule(cron="*/15 * * * *", last_refresh_at=NOW - timedelta(days=7))
    assert due == datetime(2026, 11, 23, 12, 15, tzinfo=UTC)


def test_cron_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="minute: 61 is out of range 0-59"):
        schedule(cron="61 * * * *")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        schedule(cron="0 2 * * *", timezone="Mars/Olympus")


# --- failure backoff --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (0, timedelta(0)),
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (5, timedelta(minutes=16)),
        (11, timedelta(minutes=1024)),
        (12, timedelta(hours=24)),  # 2048 minutes would be past the cap
        (10_000, timedelta(hours=24)),
    ],
)
def test_backoff_doubles_from_a_minute_and_is_capped_at_a_day(failures: int, wait: timedelta) -> None:
    assert failure_backoff(failures) == wait


def test_failures_push_the_next_attempt_back() -> None:
    # Given a source that is due now (never refreshed) but failed 3 times in a row
    # Then it is retried no sooner than 4 minutes from now
    assert schedule(consecutive_failures=3) == NOW + timedelta(minutes=4)


def test_backoff_never_makes_an_attempt_sooner_than_the_schedule() -> None:
    # Given a failed attempt just now and an hourly interval: the 1-minute backoff is shorter than the hour
    assert schedule(last_refresh_at=NOW, consecutive_failures=1) == NOW + timedelta(seconds=HOUR)
    # And for a cron schedule the next slot stands when it is later than the backoff
    assert schedule(cron="0 2 * * *", consecutive_failures=1) == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_backoff_grows_with_each_failure_until_the_cap() -> None:
    waits = []
    for failures in range(1, 16):
        due = schedule(consecutive_failures=failures)
        assert due is not None
        waits.append(due - NOW)
    assert waits[:11] == [timedelta(minutes=2**doublings) for doublings in range(11)]
    assert waits[11:] == [BACKOFF_CAP] * 4


def test_negative_failure_count_is_refused() -> None:
    with pytest.raises(ValueError, match="consecutive_failures"):
        schedule(consecutive_failures=-1)


# --- due-index shards -------------------------------------------------------------------------------------


def test_due_shard_is_stable() -> None:
    # Pinned values: a changed hash would strand items in shards no worker reads any more
    assert due_shard("ds_001") == 8
    assert due_shard("ds_001", 1000) == 696


def test_due_shard_spreads_ids_over_every_shard() -> None:
    counts = Counter(due_shard(f"ds_{number:05d}") for number in range(1600))
    assert set(counts) == set(range(DEFAULT_SHARDS))
    assert max(counts.values()) < 2 * 1600 / DEFAULT_SHARDS


def test_due_shard_bounds() -> None:
    assert due_shard("anything", 1) == 0
    with pytest.raises(ValueError, match="shards must be at least 1"):
        due_shard("anything", 0)
