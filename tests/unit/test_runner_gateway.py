"""The runner gateway: what it sends a runner, how long it waits, and how it reads each kind of answer."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from datasource_registry.adapters.runners import RUNNER_FAILED, RUNNER_TIMED_OUT, RunnerConnectorGateway
from datasource_registry.connectors import ConnectionTarget, ConnectorError
from datasource_registry.runner import FAMILIES, family_of

SECRET = "pa55-w0rd-secret"  # a marker, searched for in every answer
TARGET = ConnectionTarget(type="mysql", host="db.example.com", port=3306, include_patterns=("app.*",))


class FakeLambda:
    """Lambda's Invoke as a fake: records each call and its client's read timeout, answers what it is given."""

    def __init__(self, payload: Any, function_error: str | None = None) -> None:
        self.payload, self.function_error = payload, function_error
        self.calls: list[tuple[float, dict[str, Any]]] = []

    def client(self, read_timeout: float) -> FakeLambda:
        self.read_timeout = read_timeout
        return self

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((self.read_timeout, kwargs))
        body = self.payload if isinstance(self.payload, bytes) else json.dumps(self.payload).encode()
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(body)}
        if self.function_error:
            answer["FunctionError"] = self.function_error
        return answer


def gateway(fake: FakeLambda) -> RunnerConnectorGateway:
    return RunnerConnectorGateway(fake.client, {"sql": "fn-sql", "files": "fn-files", "kv-http": "fn-kv"}, "10.0.0.0/8")


def test_the_request_carries_the_source_its_credentials_the_policy_and_a_deadline_the_caller_can_wait_for():
    fake = FakeLambda({"result": {"success": True, "stages": [], "durationMs": 1.0}})

    result = gateway(fake).check(TARGET, {"username": "app", "password": SECRET}, 20.0)

    assert result.success
    ((read_timeout, call),) = fake.calls
    request = json.loads(call["Payload"])
    assert (call["FunctionName"], call["InvocationType"]) == ("fn-sql", "RequestResponse")
    assert request["credentials"] == {"username": "app", "password": SECRET}
    assert (request["allowedCidrs"], request["target"]["include_patterns"]) == ("10.0.0.0/8", ["app.*"])
    # The runner's share leaves room for its cold start; the caller waits no longer than its deadline + 1 s.
    assert request["deadlineSeconds"] == 19.0
    assert read_timeout == 21.0


@pytest.mark.parametrize(
    ("body", "function_error", "code", "message"),
    [
        (
            {"errorType": "Runtime.ExitError", "errorMessage": f"died with {SECRET}"},
            "Unhandled",
            "UNEXPECTED",
            f"{RUNNER_FAILED} (Runtime.ExitError)",
        ),
        ({"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}, "Unhandled", "TIMEOUT", RUNNER_TIMED_OUT),
        (b"not json", None, "UNEXPECTED", f"{RUNNER_FAILED}: its answer is not a runner answer"),
        ({"error": {"code": "INVALID_CONFIG", "message": "bad"}}, None, "INVALID_CONFIG", "bad"),
    ],
)
def test_every_failure_of_a_runner_is_a_failed_call_with_a_stable_code(body, function_error, code, message):
    fake = FakeLambda(body, function_error)

    result = gateway(fake).check(TARGET, {"password": SECRET}, 5.0)

    assert (result.success, result.error_code, result.error) == (False, code, message)
    assert SECRET not in repr(result.to_dict())
    with pytest.raises(ConnectorError) as raised:
        gateway(fake).discover(TARGET, {"password": SECRET}, 5.0)
    assert (raised.value.code, raised.value.message) == (code, message)


def test_a_discovered_schema_comes_back_whole():
    table = {"schema": "app", "name": "orders", "kind": "table", "columns": [], "primaryKey": [], "rowEstimate": 3}
    fake = FakeLambda({"result": {"tables": [table], "details": {"engine": "mysql"}}})

    schema = gateway(fake).discover(TARGET, {}, 5.0)

    assert [t.qualified_name for t in schema.tables] == ["app.orders"]
    assert schema.details == {"engine": "mysql"}


def test_aws_sources_without_keys_are_refused_before_any_invoke():
    fake = FakeLambda({"result": {}})

    result = gateway(fake).check(ConnectionTarget(type="dynamodb"), {}, 5.0)

    assert (result.error_code, fake.calls) == ("AUTH_FAILED", [])


def test_table_formats_on_s3_without_keys_are_refused_before_any_invoke():
    fake = FakeLambda({"result": {}})

    for type_name in ("delta_lake", "hudi"):
        result = gateway(fake).check(ConnectionTarget(type=type_name, file_path="s3://bucket/t"), {}, 5.0)

        assert (result.error_code, fake.calls) == ("AUTH_FAILED", [])


def test_every_family_has_a_runner_and_unknown_types_go_to_the_lightest():
    assert set(FAMILIES.values()) == {"sql", "files", "kv-http", "nosql", "lake", "lake-hudi"}
    assert family_of("snowflake") == "kv-http"
