"""The connector gateway that runs every connection test and discovery in a connector-runner Lambda function.

The caller keeps the registry's permissions; the runner, which parses bytes from servers our users name, holds
none. Each call is one synchronous Invoke of the family's runner with the source, its credentials (in the payload
only, never logged), the deadline and the network policy. A runner that crashes, times out or cannot be reached
costs that one call a failed test (or a ConnectorError) with a stable code, never the caller an exception.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from datasource_registry.adapters.connectors import NO_BORROWED_ROLE, borrows_role
from datasource_registry.connectors import ConnectionTarget, ConnectionTestResult, ConnectorError
from datasource_registry.connectors.errors import ErrorCode
from datasource_registry.discovered import DiscoveredSchema
from datasource_registry.runner import (
    check_result_from,
    failed_test,
    family_of,
    request_of,
    result_of,
    schema_from,
    scrubber_for,
)

# The caller's deadline already leaves it time to record the outcome (Request.seconds_left). Out of that deadline
# the runner gets all but an allowance for its own start (a cold start), and the caller waits the deadline plus a
# margin for the answer's way back: a runner that overruns costs a TIMEOUT, never the caller its own timeout.
RUNNER_START_ALLOWANCE = 1.0
READ_MARGIN_SECONDS = 1.0
RUNNER_TIMED_OUT = "the connector runner did not answer within the deadline"
RUNNER_FAILED = "the connector runner failed"


class RunnerFailure(Exception):
    """The runner gave no answer of its own: it crashed, timed out, or could not be invoked."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RunnerConnectorGateway:
    """ConnectorGateway over Lambda Invoke; `lambda_client(read_timeout)` gives a Lambda client with that timeout."""

    def __init__(
        self,
        lambda_client: Callable[[float], Any],
        runners: dict[str, str],
        allowed_cidrs: str,
        aws_endpoint_url: str | None = None,
        lend_function_role: bool = False,
        read_margin: float = READ_MARGIN_SECONDS,
    ) -> None:
        self._lambda_client = lambda_client
        self._runners = runners
        self._allowed_cidrs = allowed_cidrs
        self._aws_endpoint_url = aws_endpoint_url
        self._lend_function_role = lend_function_role
        self.read_margin = read_margin

    def _borrows_role(self, target: ConnectionTarget, credentials: dict[str, str]) -> bool:
        return borrows_role(target, credentials, lend_function_role=self._lend_function_role)

    def check(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> ConnectionTestResult:
        if self._borrows_role(target, credentials):
            return failed_test(ErrorCode.AUTH_FAILED, NO_BORROWED_ROLE)
        started = time.perf_counter()
        try:
            answer = self._invoke("test", target, credentials, deadline_seconds)
        except RunnerFailure as failure:
            return failed_test(failure.code, failure.message, (time.perf_counter() - started) * 1000)
        if "error" in answer:  # the runner refused the request itself (a test's own failures are results)
            error = answer["error"]
            return failed_test(ErrorCode(error["code"]), str(error["message"]))
        return check_result_from(result_of(answer))

    def discover(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> DiscoveredSchema:
        if self._borrows_role(target, credentials):
            raise ConnectorError(ErrorCode.AUTH_FAILED, NO_BORROWED_ROLE)
        try:
            answer = self._invoke("discover", target, credentials, deadline_seconds)
        except RunnerFailure as failure:
            raise ConnectorError(failure.code, failure.message) from None
        if "error" in answer:
            raise ConnectorError(ErrorCode(answer["error"]["code"]), str(answer["error"]["message"]))
        return schema_from(result_of(answer))

    def _invoke(
        self, operation: str, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> dict[str, Any]:
        family = family_of(target.type)
        function = self._runners.get(family)
        if not function:
            raise RunnerFailure(ErrorCode.UNSUPPORTED, f"no connector runner is deployed for the {family} family")
        runner_deadline = max(0.5, deadline_seconds - min(RUNNER_START_ALLOWANCE, deadline_seconds / 4))
        payload = request_of(
            operation, target, credentials, runner_deadline, self._allowed_cidrs, self._aws_endpoint_url
        )
        # Whole seconds, rounded down: one client per distinct wait, and never a wait past the caller's deadline.
        client = self._lambda_client(float(max(1, math.floor(deadline_seconds + self.read_margin))))
        scrub = scrubber_for(credentials)
        try:
            response = client.invoke(
                FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload)
            )
            body = response["Payload"].read()
        except Exception as exc:  # botocore's read timeout, a refused connection, a throttle: this call fails alone
            timed_out = "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower()
            if timed_out:
                raise RunnerFailure(ErrorCode.TIMEOUT, RUNNER_TIMED_OUT) from None
            raise RunnerFailure(ErrorCode.UNEXPECTED, f"{RUNNER_FAILED}: {scrub(type(exc).__name__)}") from None
        if response.get("FunctionError"):
            raise _function_error(body, scrub)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not ({"result", "resultGzip", "error"} & answer.keys()):
            raise RunnerFailure(ErrorCode.UNEXPECTED, f"{RUNNER_FAILED}: its answer is not a runner answer")
        return answer


def _function_error(body: bytes, scrub: Callable[[str], str]) -> RunnerFailure:
    """Lambda's answer when the runner process died, timed out or raised: its errorType, scrubbed."""
    try:
        error = json.loads(body)
    except ValueError:
        error = {}
    kind = str(error.get("errorType") or "Unhandled") if isinstance(error, dict) else "Unhandled"
    message = str(error.get("errorMessage") or "") if isinstance(error, dict) else ""
    if kind == "Sandbox.Timedout" or "timed out" in message.lower():
        return RunnerFailure(ErrorCode.TIMEOUT, RUNNER_TIMED_OUT)
    return RunnerFailure(ErrorCode.UNEXPECTED, f"{RUNNER_FAILED} ({scrub(kind)})")
