"""Scheduled refresh on in-memory ports: scheduling on writes, claim-once sweeps, run-once worker, backoff, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datasource_registry.adapters.memory import InMemoryDataSourceRepository, InMemorySecretStore
from datasource_registry.adapters.memory_refresh import (
    FakeSchemaRefresher,
    InMemoryEventPublisher,
    InMemoryRefreshQueue,
    InMemoryRefreshSchedule,
)
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.ports import RefreshOutcome
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.refresh_service import (
    HEALTH_CHANGED,
    SCHEMA_CHANGED,
    RefreshSweeper,
    RefreshWorker,
    RunStatus,
)
from datasource_registry.domain.rules import connection_checked, health_of
from datasource_registry.domain.service import CredentialChanges, DataSourceService
from datasource_registry.domain.types import Role

EDITOR = Principal("alice", "t1", Role.EDITOR)
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Stack:
    def __init__(self) -> None:
        self.clock = Clock()
        self.repo = InMemoryDataSourceRepository()
        self.secrets = InMemorySecretStore()
        self.service = DataSourceService(self.repo, self.secrets, clock=self.clock)
        self.schedule = InMemoryRefreshSchedule(self.repo, shards=4)
        self.queue = InMemoryRefreshQueue()
        self.refresher = FakeSchemaRefresher()
        self.events = InMemoryEventPublisher()

    def sweeper(self) -> RefreshSweeper:
        return RefreshSweeper(self.schedule, self.queue, self.clock, shards=4)

    def worker(self) -> RefreshWorker:
        return RefreshWorker(self.service, self.refresher, self.events, self.clock)

    def create(self, name: str, credentials: dict[str, str] | None = None, *, tested: bool = True, **fields):
        """A source as created through the API; `tested` records a passing foreground test right after, as a user's
        test-connection call does, so the refresh tests start past the first check (its own tests pass False)."""
        spec = DataSourceSpec.model_validate(
            {"name": name, "type": "postgresql", "host": "db", "port": 5432, "databaseName": "d", **fields}
        )
        source = self.service.create(EDITOR, spec, None, credentials or {})
        if not tested:
            return source
        now = self.clock()
        return self.service.apply_registry_update(
            source.tenant_id, source.id, lambda current: connection_checked(current, now, healthy=True, reason=None)
        )

    def get(self, key: str):
        return self.service.get(EDITOR, key)

    def tick(self) -> list:
        """One sweep, then every queued request delivered once."""
        self.sweeper().sweep()
        requests, self.queue.messages = self.queue.messages, []
        return [self.worker().run(request) for request in requests]


@pytest.fixture
def stack() -> Stack:
    return Stack()


def test_only_active_sources_with_auto_refresh_are_scheduled(stack):
    active = stack.create("A", status="active", schemaRefreshInterval=60)
    draft = stack.create("B")
    manual = stack.create("C", status="active", schemaAutoRefresh=False)

    assert active.next_refresh_at == T0  # never refreshed: due at once
    assert draft.next_refresh_at is None
    assert manual.next_refresh_at is None


def test_a_cron_schedule_is_due_at_its_next_fire_time_in_its_zone(stack):
    source = stack.create("A", status="active", schedule={"cron": "0 2 * * *", "timezone": "America/New_York"})

    assert source.next_refresh_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 02:00 EST


def test_a_due_source_is_refreshed_once_and_rescheduled_by_its_interval(stack):
    stack.create("A", status="active", schemaRefreshInterval=60)

    results = stack.tick()

    assert [r.status for r in results] == [RunStatus.REFRESHED]
    source = stack.get("a")
    assert (source.last_refresh_at, source.last_refresh_status) == (T0, "succeeded")
    assert source.next_refresh_at == T0 + timedelta(seconds=60)
    assert source.refresh_claim is None
    assert stack.tick() == []  # nothing more is due at T0


def test_overlapping_sweeps_claim_a_due_refresh_once(stack):
    stack.create("A", status="active")
    first, second = stack.sweeper(), stack.sweeper()
    seen = [entry for shard in range(4) for entry in stack.schedule.due(shard, T0)]

    # Given both sweeps read the entry before either claimed it
    claims = [stack.schedule.claim(seen[0], T0 + timedelta(minutes=45), token) for token in ("one", "two")]

    assert claims == [True, False]
    assert first.sweep().claimed == 0 and second.sweep().claimed == 0


def test_a_message_delivered_twice_runs_once(stack):
    stack.create("A", status="active")
    stack.sweeper().sweep()
    (request,) = stack.queue.messages

    results = [stack.worker().run(request), stack.worker().run(request)]

    assert [r.status for r in results] == [RunStatus.REFRESHED, RunStatus.SKIPPED]
    assert stack.refresher.refreshed("t1") == ["a"]


def test_a_concurrent_duplicate_is_skipped_while_the_first_delivery_runs(stack):
    stack.create("A", status="active")
    stack.sweeper().sweep()
    (request,) = stack.queue.messages
    duplicate_results = []
    stack.refresher.script(
        "a", lambda source: (duplicate_results.append(stack.worker().run(request)), RefreshOutcome(ok=True))[1]
    )

    stack.worker().run(request)

    assert [r.status for r in duplicate_results] == [RunStatus.SKIPPED]
    assert stack.refresher.refreshed("t1") == ["a"]


class FlakyBus(InMemoryEventPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def publish(self, detail_type, detail):
        if self.down:
            raise ConnectionResetError("bus unreachable")
        super().publish(detail_type, detail)


def test_a_run_that_died_is_taken_over_by_the_redelivery_after_the_run_timeout(stack):
    stack.create("A", status="active")
    stack.refresher.script("a", RefreshOutcome(ok=True, changed=True, version=2))  # an event to publish
    stack.events = FlakyBus()
    stack.sweeper().sweep()
    (request,) = stack.queue.messages
    with pytest.raises(ConnectionResetError):
        stack.worker().run(request)  # the message fails; SQS redelivers it after the visibility timeout

    assert stack.worker().run(request).status is RunStatus.SKIPPED  # an early duplicate does not run it twice
    stack.events.down = False
    stack.clock.advance(minutes=30)

    assert stack.worker().run(request).status is RunStatus.REFRESHED
    assert stack.get("a").refresh_claim is None


def test_a_refresher_that_raises_is_recorded_as_a_failure_and_backs_off_without_its_message(stack):
    stack.create("A", status="active", schemaRefreshInterval=60)
    stack.refresher.script("a", lambda source: (_ for _ in ()).throw(RuntimeError("password=hunter2 rejected")))

    (result,) = stack.tick()

    source = stack.get("a")
    assert result.status is RunStatus.FAILED
    assert source.last_refresh_status == "failed" and source.refresh_failures == 1
    assert source.failure_reason == "refresher_error: the schema refresh failed unexpectedly (RuntimeError)"
    # nothing was tested: the connection's record stays as the earlier test left it
    assert (source.last_test_ok, source.failure_count, source.last_failed_connection_at) == (True, 0, None)
    assert source.next_refresh_at == T0 + timedelta(seconds=60)


def test_pausing_stops_the_next_run_and_resuming_schedules_from_now_without_backlog(stack):
    stack.create("A", status="active", schemaRefreshInterval=3600)
    stack.tick()

    paused = stack.service.update(EDITOR, "a", {"status": "paused"})
    assert paused.next_refresh_at is None
    stack.clock.advance(days=7)
    assert stack.tick() == []

    resumed = stack.service.update(EDITOR, "a", {"status": "active"})
    assert resumed.next_refresh_at == stack.clock.now
    assert len(stack.tick()) == 1
    assert stack.tick() == []  # one refresh for the week, not 168
    assert stack.get("a").next_refresh_at == stack.clock.now + timedelta(hours=1)


def test_changing_the_interval_reschedules_and_drops_a_claim_in_flight(stack):
    stack.create("A", status="active", schemaRefreshInterval=3600)
    stack.tick()
    stack.clock.advance(hours=1)
    stack.sweeper().sweep()
    (request,) = stack.queue.messages

    updated = stack.service.update(EDITOR, "a", {"schema_refresh_interval": 7200})

    assert updated.next_refresh_at == T0 + timedelta(hours=2)
    assert stack.worker().run(request).status is RunStatus.SKIPPED


def test_repeated_failures_back_off_and_a_success_resets(stack):
    stack.create("A", status="active", schemaRefreshInterval=60)
    stack.refresher.script(
        "a", RefreshOutcome(ok=False, error_code="connection_refused", error="connection refused", healthy=False)
    )
    waits = []
    for _ in range(4):
        stack.tick()
        source = stack.get("a")
        waits.append(source.next_refresh_at - stack.clock.now)
        stack.clock.now = source.next_refresh_at

    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert (source.failure_count, source.failure_reason) == (4, "connection_refused: connection refused")
    assert source.last_failed_connection_at is not None and source.last_refresh_status == "failed"

    stack.refresher.script("a", RefreshOutcome(ok=True))
    stack.tick()
    assert stack.get("a").refresh_failures == 0
    assert stack.get("a").next_refresh_at == stack.clock.now + timedelta(seconds=60)


def test_one_broken_source_does_not_stop_the_others(stack):
    stack.create("Broken", status="active")
    stack.create("Fine", status="active")
    stack.refresher.script("broken", RefreshOutcome(ok=False, error_code="timeout", error="timed out", healthy=False))

    results = sorted(r.status for r in stack.tick())

    assert results == [RunStatus.FAILED, RunStatus.REFRESHED]
    assert stack.get("fine").last_refresh_status == "succeeded"


def test_a_schema_change_and_a_health_change_are_published_without_secrets(stack):
    stack.create("A", {"password": "s3cret-pw"}, tested=False, status="active")
    stack.refresher.script(
        "a", RefreshOutcome(ok=True, changed=True, version=2, diff_summary={"tablesAdded": 1}, healthy=True)
    )

    stack.tick()  # the first check: the health changes (003 -> 100)
    stack.tick()  # then the refresh the interval asks for: the schema changes

    kinds = [kind for kind, _ in stack.events.events]
    assert kinds == [HEALTH_CHANGED, SCHEMA_CHANGED]
    assert stack.events.events[0][1]["current"]["healthy"] is True
    changed = stack.events.events[1][1]
    assert changed["version"] == 2 and changed["diffSummary"] == {"tablesAdded": 1} and changed["key"] == "a"
    assert "s3cret-pw" not in repr(stack.events.events)
    # the checker and the refresher got the credentials
    assert stack.refresher.checks[0][2] == stack.refresher.calls[0][2] == {"password": "s3cret-pw"}


def test_an_unchanged_schema_and_unchanged_health_publish_nothing(stack):
    stack.create("A", status="active", schemaRefreshInterval=60)
    stack.tick()
    stack.events.events.clear()
    stack.clock.advance(minutes=1)

    stack.tick()

    assert stack.events.events == []


def test_a_pause_during_a_run_keeps_the_pause_but_records_the_outcome(stack):
    stack.create("A", status="active")
    stack.sweeper().sweep()
    (request,) = stack.queue.messages
    stack.refresher.script(
        "a",
        lambda source: (stack.service.update(EDITOR, "a", {"status": "paused"}), RefreshOutcome(ok=True))[1],
    )

    stack.worker().run(request)

    source = stack.get("a")
    assert source.next_refresh_at is None and source.last_refresh_status == "succeeded"


def test_only_scheduled_sources_enter_the_due_index_and_the_schedule_state_round_trips(stack):
    from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository

    mapping = DynamoDbDataSourceRepository(client=None, table_name="unused")  # type: ignore[arg-type]
    draft = stack.create("Draft")
    active = stack.create("Active", status="active").model_copy(update={"refresh_claim": "token-1"})

    assert "dueShard" not in mapping.to_item(draft) and "dueAt" not in mapping.to_item(draft)
    item = mapping.to_item(active)
    assert item["dueShard"]["S"].startswith("DUE#")
    assert item["dueAt"]["S"] == f"2026-11-23T12:00:00.000000Z#t1#{active.id}"
    assert "next_refresh_at" not in item["doc"]["S"] and "token-1" not in item["doc"]["S"]
    back = mapping.from_item(item)
    assert (back.next_refresh_at, back.refresh_claim) == (T0, "token-1")


def test_daylight_saving_a_missing_time_is_skipped_and_a_repeated_time_runs_once(stack):
    # Spring forward in New York, 2027-03-14: 02:30 does not exist that day
    stack.clock.now = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
    spring = stack.create("Spring", status="active", schedule={"cron": "30 2 * * *", "timezone": "America/New_York"})
    assert spring.next_refresh_at == datetime(2027, 3, 15, 6, 30, tzinfo=UTC)  # 02:30 EDT on the 15th

    # Fall back, 2026-11-01: 01:30 happens twice; it runs at the first, and the next run is the next day
    stack.clock.now = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    fall = stack.create("Fall", status="active", schedule={"cron": "30 1 * * *", "timezone": "America/New_York"})
    assert fall.next_refresh_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    stack.clock.now = fall.next_refresh_at

    stack.tick()

    assert stack.get("fall").next_refresh_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # not 01:30 EST that day
    assert stack.refresher.refreshed("t1") == ["fall"]


def test_failure_count_is_consecutive_three_failed_refreshes_then_a_success_is_zero_and_healthy(stack):
    # Given a source whose refreshes fail three times in a row
    created = stack.create("A", status="active", schemaRefreshInterval=60)
    stack.refresher.script(
        "a", RefreshOutcome(ok=False, error_code="connection_refused", error="connection refused", healthy=False)
    )
    for _ in range(3):
        stack.tick()
        stack.clock.now = stack.get("a").next_refresh_at
    assert stack.get("a").failure_count == 3
    # When the next refresh succeeds
    stack.refresher.script("a", RefreshOutcome(ok=True))
    stack.tick()
    # Then the streak is over: failureCount 0, Healthy, and the client's rowVersion never moved
    source = stack.get("a")
    assert (source.failure_count, source.failure_reason) == (0, None)
    assert health_of(source).healthy is True
    assert source.row_version == created.row_version


def test_the_registry_s_own_writes_leave_the_row_version_a_client_holds_valid(stack):
    # Given a client that read a source
    read = stack.create("A", status="active", schemaRefreshInterval=60)
    # When the registry claims, runs and records refreshes of it meanwhile
    for _ in range(2):
        stack.tick()
        stack.clock.now = stack.get("a").next_refresh_at
    assert stack.get("a").revision > read.revision
    # Then the client's write with the rowVersion it read is applied, over the registry's latest fields
    refreshed = stack.get("a")
    updated = stack.service.update(EDITOR, "a", {"description": "mine"}, expected_version=read.row_version)
    assert updated.row_version == read.row_version + 1
    stored = stack.get("a")
    assert stored.spec.description == "mine"
    assert (stored.last_refresh_at, stored.schema_discovered_at) == (
        refreshed.last_refresh_at,
        refreshed.schema_discovered_at,
    )


# -- the first connection check (000: a configured source reaches a healthy state by itself) ------------------
def test_a_configured_draft_is_checked_in_the_background_and_becomes_healthy_without_a_refresh(stack):
    draft = stack.create("B", {"password": "pw"}, tested=False)
    assert health_of(draft).code == "003" and draft.next_refresh_at == T0  # due at once

    (result,) = stack.tick()

    source = stack.get("b")
    assert result.status is RunStatus.REFRESHED and result.events == (HEALTH_CHANGED,)
    assert health_of(source).code == "100" and source.last_tested_at == T0 and source.failure_count == 0
    assert stack.refresher.checks == [("t1", "b", {"password": "pw"})] and stack.refresher.calls == []  # no discovery
    assert (source.next_refresh_at, source.refresh_claim, source.last_refresh_at) == (None, None, None)  # a draft
    assert source.row_version == draft.row_version  # the registry's own write
    assert stack.tick() == []


def test_a_failed_first_check_says_why_and_is_not_retried_until_the_connection_changes(stack):
    stack.create("B", tested=False)
    stack.refresher.script("b", RefreshOutcome(ok=False, error_code="UNREACHABLE", error="refused", healthy=False))

    stack.tick()

    source = stack.get("b")
    assert health_of(source).code == "500" and "UNREACHABLE: refused" in health_of(source).reason
    assert source.failure_count == 1 and source.next_refresh_at is None
    stack.clock.advance(hours=1)
    assert stack.tick() == []
    stack.service.update(EDITOR, "b", {"description": "not a connection setting"})
    assert stack.tick() == []

    stack.refresher.script("b", RefreshOutcome(ok=True))
    stack.service.update(EDITOR, "b", {"host": "db2"})  # a new connection: tested again, at once
    assert stack.get("b").next_refresh_at == stack.clock.now
    stack.tick()
    assert health_of(stack.get("b")).code == "100" and len(stack.refresher.checks) == 2


def test_new_secrets_are_checked_again_and_missing_secrets_wait(stack):
    stack.create("B", tested=False, secretRefs={"password": "DB_PASSWORD"})
    assert health_of(stack.get("b")).code == "002" and stack.get("b").next_refresh_at is None  # nothing to test yet

    stack.service.update(EDITOR, "b", {}, CredentialChanges(values={"DB_PASSWORD": "pw1"}))
    stack.tick()
    stack.service.update(EDITOR, "b", {}, CredentialChanges(values={"DB_PASSWORD": "pw2"}))
    stack.tick()

    assert [creds for _, _, creds in stack.refresher.checks] == [{"DB_PASSWORD": "pw1"}, {"DB_PASSWORD": "pw2"}]
    assert health_of(stack.get("b")).code == "100"


def test_an_active_source_is_checked_first_then_refreshed_by_its_schedule(stack):
    stack.create("A", tested=False, status="active", schedule={"cron": "0 2 * * *", "timezone": "UTC"})

    stack.tick()

    source = stack.get("a")
    assert stack.refresher.checks and not stack.refresher.calls
    assert health_of(source).code == "100" and source.next_refresh_at == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_a_source_of_type_other_is_never_checked_it_names_no_system(stack):
    # `other` has no connector: a background check could only mark it failing for being what it is
    stack.create("O", tested=False, type="other", host=None, port=None, databaseName=None)

    assert stack.get("o").next_refresh_at is None and stack.tick() == []
    assert health_of(stack.get("o")).code == "003" and stack.refresher.checks == []


@pytest.mark.parametrize("status", ["paused", "archived"])
def test_paused_and_archived_sources_are_left_alone(stack, status):
    stack.create("B", tested=False, status=status)

    assert stack.get("b").next_refresh_at is None and stack.tick() == []


def test_a_foreground_test_ends_the_wait_and_a_claim_made_before_it_is_skipped(stack):
    source = stack.create("B", tested=False)
    stack.sweeper().sweep()
    (request,) = stack.queue.messages
    stack.service.apply_registry_update(  # a user's test lands first (record_test writes through this path)
        "t1", source.id, lambda current: connection_checked(current, T0, healthy=True, reason=None)
    )

    result = stack.worker().run(request)

    assert result.status is RunStatus.SKIPPED and "tested meanwhile" in result.reason
    after = stack.get("b")
    assert (after.refresh_claim, after.next_refresh_at) == (None, None) and stack.refresher.checks == []


def test_a_user_test_without_a_claim_in_flight_clears_the_due_time(stack):
    source = stack.create("B", tested=False)
    stack.service.apply_registry_update(
        "t1", source.id, lambda current: connection_checked(current, T0, healthy=False, reason="X: no")
    )

    assert stack.get("b").next_refresh_at is None and stack.tick() == []


def test_a_check_of_a_connection_changed_meanwhile_is_not_recorded_as_its_health(stack):
    stack.create("B", tested=False)

    def change_host_during_the_check(source):
        stack.service.update(EDITOR, "b", {"host": "elsewhere"})
        return RefreshOutcome(ok=True)

    stack.refresher.script("b", change_host_during_the_check)
    stack.tick()

    source = stack.get("b")
    assert source.spec.host == "elsewhere" and health_of(source).code == "003"  # still awaiting its own check
    assert source.next_refresh_at == T0


def test_a_check_that_tested_nothing_backs_off(stack):
    stack.create("B", tested=False)
    stack.refresher.script("b", lambda source: (_ for _ in ()).throw(RuntimeError("boom")))
    stack.refresher.check = stack.refresher.refresh  # the checker raises the same way

    stack.tick()

    source = stack.get("b")
    assert health_of(source).code == "003" and source.refresh_failures == 1
    assert source.next_refresh_at == T0 + timedelta(minutes=1)
