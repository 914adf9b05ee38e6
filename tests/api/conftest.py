"""Fixtures for the scheduled-refresh tests: a frozen clock, the fake refresher and the local scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datasource_registry.adapters.memory_refresh import FakeSchemaRefresher
from datasource_registry.domain.service import utc_now
from datasource_registry.runtime import services
from devserver.scheduler import LocalScheduler


class FrozenClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(local_api):
    frozen = FrozenClock()
    services().clock = frozen
    yield frozen
    services().clock = utc_now


@pytest.fixture
def refresher(local_api):
    fake = FakeSchemaRefresher()
    services().schema_refresher = fake
    yield fake
    vars(services()).pop("schema_refresher", None)


@pytest.fixture
def scheduler(local_api) -> LocalScheduler:
    return LocalScheduler(local_api.aws, local_api.template, local_api.invoker)


@pytest.fixture
def background_checks(local_api):
    """`make serve`'s scheduler thread, ticking every half second with the real refresher, for this test's sources.

    Sources left by earlier tests (other tenants) would all be checked by the first ticks; they are settled first
    with the fake refresher, through the same sweeper and worker, so the real checks are only this test's.
    """
    scheduler = LocalScheduler(local_api.aws, local_api.template, local_api.invoker)
    services().schema_refresher = FakeSchemaRefresher()
    try:
        for _ in range(50):
            if not scheduler.tick().received:
                break
    finally:
        vars(services()).pop("schema_refresher", None)
    scheduler.start(interval_seconds=0.5)
    yield scheduler
    scheduler.stop()


@pytest.fixture
def bus_inbox(local_api):
    """A queue fed by a rule on the registry's event bus: `subscribe(pattern)` answers a reader of what arrived.

    The rules are removed after the test, so no other test's events reach its queue.
    """
    import json
    import uuid

    from devserver.template import physical_name

    events, sqs = local_api.aws.client("events"), local_api.aws.client("sqs")
    bus = physical_name("DataSourceEventBus")
    rules: list[str] = []

    def subscribe(pattern: dict):
        inbox = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"rule-{uuid.uuid4().hex[:8]}"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
        rules.append(rule)

        def received() -> list[dict]:
            messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(message["Body"]) for message in messages]

        return received

    yield subscribe
    for rule in rules:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["inbox"])
        events.delete_rule(Name=rule, EventBusName=bus)
