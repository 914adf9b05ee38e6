"""A failure at every AWS call of every write route leaves nothing orphaned or half-written; throttles are retried."""

from __future__ import annotations

from typing import Any

import pytest

from tests.prove.conftest import COUNTS, report
from tests.prove.harness import (
    WRITES,
    FaultInjector,
    assert_consistent,
    new_source,
    records,
    routes,
    sample,
    secret_values,
)

WRITE_ROUTES = [route for route in routes() if route.method in WRITES]


@pytest.fixture
def faults(server):
    with FaultInjector() as injector:
        yield injector


def _snapshot(local_api, tenant: str) -> dict[str, Any]:
    state = records(local_api.aws, tenant)
    for record in state.values():
        if record.get("secret_arn"):
            record["secret"] = secret_values(local_api.aws, record["secret_arn"], record["secret_version"])
    return state


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_a_failure_at_any_aws_call_of_a_write_changes_nothing(local_api, api, tenant, faults, route):
    row = sample(route)
    # Given a source, When the write runs with no fault, Then we learn how many AWS calls it makes
    source = new_source(api, "counted")
    faults.arm()
    ok = row.build(source, 0).send(api)
    calls = len(faults.calls)
    assert ok.status_code < 300, ok.text
    if calls == 0:
        # Testing an unsaved configuration stores nothing: with no AWS call there is nothing to half-write.
        assert route.path.endswith("/test-connection") and "{id}" not in route.path, route
        report(f"[faults] {route.method} {route.path}: no AWS call, nothing to fail")
        return
    # When each of those calls fails in turn
    before = faults.injected
    for n in range(1, calls + 1):
        source = new_source(api, f"f{n}")
        snapshot = _snapshot(local_api, tenant)
        call = row.build(source, n)
        faults.arm(fail_at=n)
        response = call.send(api)
        failed_call = faults.calls[n - 1] if len(faults.calls) >= n else None
        faults.arm()
        # Then the answer is a problem (503 for the AWS failure), and stored state is exactly as before
        assert response.status_code == 503, (n, failed_call, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 503
        assert _snapshot(local_api, tenant) == snapshot, f"call {n} ({failed_call}) left a half-write"
        assert_consistent(local_api.aws, tenant)
    COUNTS["faults injected"] += faults.injected - before
    report(f"[faults] {route.method} {route.path}: {calls} AWS calls, {faults.injected - before} faults injected")


def test_a_throttled_aws_call_is_retried_with_backoff_and_the_write_succeeds(local_api, api, tenant, faults):
    # Given the first AWS request of a create is throttled
    faults.arm(throttles=1)
    # When the create is sent
    response = new_source(api, "throttled")
    COUNTS["faults injected"] += 1
    # Then botocore's standard retry mode sent it again and the create succeeded, consistently
    assert faults.sends > len(faults.calls)
    assert response["rowVersion"] == 2  # created, then linked to its data system
    assert_consistent(local_api.aws, tenant)
