"""The two retry helpers: optimistic concurrency in the domain, lost responses in the adapters; each ends in an answer."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from datasource_registry.adapters import backoff
from datasource_registry.adapters.backoff import with_backoff
from datasource_registry.domain.concurrency import settle
from datasource_registry.domain.errors import DependencyUnavailable, VersionConflict
from datasource_registry.domain.ports import StaleVersion


def test_settle_reads_again_after_a_lost_race_and_ends_in_the_given_answer():
    tries = []

    def attempt() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise StaleVersion("x")
        return "written"

    assert settle(attempt, exhausted=lambda: VersionConflict(None), sleep=lambda _: None) == "written"
    assert len(tries) == 3

    def always_stale() -> str:
        raise StaleVersion("x")

    with pytest.raises(VersionConflict):
        settle(always_stale, exhausted=lambda: VersionConflict(None), attempts=4, sleep=lambda _: None)


def test_settle_leaves_other_errors_alone():
    def broken() -> None:
        raise KeyError("not a race")

    with pytest.raises(KeyError):
        settle(broken, exhausted=lambda: VersionConflict(None), sleep=lambda _: None)


def test_a_lost_response_is_sent_again_and_a_refusal_is_not(monkeypatch):
    monkeypatch.setattr(backoff, "pause", lambda attempt: None)
    sent = []

    def lost_twice() -> str:
        sent.append(1)
        if len(sent) <= 2:
            raise ConnectionClosedError(endpoint_url="http://aws")
        return "done"

    assert with_backoff(lost_twice, what="AWS") == "done" and len(sent) == 3

    def refused() -> None:
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "no"}}, "PutItem")

    with pytest.raises(ClientError):  # botocore already retried it; a 5xx refusal is not a lost response
        with_backoff(refused, what="AWS")

    def always_lost() -> None:
        raise ConnectionClosedError(endpoint_url="http://aws")

    with pytest.raises(DependencyUnavailable):
        with_backoff(always_lost, what="AWS")


def test_a_batch_remainder_is_sent_again_until_done_and_one_that_never_drains_is_a_503(monkeypatch):
    from datasource_registry.adapters import backoff

    monkeypatch.setattr(backoff, "pause", lambda attempt: None)
    sent: list[list[int]] = []

    def half(pending: list[int]) -> list[int]:  # DynamoDB processes part of a batch under throttling
        sent.append(pending)
        return pending[len(pending) // 2 + 1 :]

    backoff.until_processed(half, [1, 2, 3, 4, 5, 6], what="a test batch")
    assert sent == [[1, 2, 3, 4, 5, 6], [5, 6]]  # the remainder only, then done

    with pytest.raises(backoff.DependencyUnavailable, match="a test batch"):
        backoff.until_processed(lambda pending: pending, [1], what="a test batch", attempts=3)


def test_a_batch_send_whose_answer_was_lost_is_sent_again_as_is(monkeypatch):
    from datasource_registry.adapters import backoff

    monkeypatch.setattr(backoff, "pause", lambda attempt: None)
    sent: list[list[int]] = []

    def lost_once(pending: list[int]) -> list[int]:
        sent.append(pending)
        if len(sent) == 1:
            raise ConnectionClosedError(endpoint_url="https://dynamodb")  # it took effect; the answer never came
        return []

    backoff.until_processed(lost_once, [1, 2], what="a test batch")
    assert sent == [[1, 2], [1, 2]]
