"""Connector runners: code running in one cannot read the registry; a runner that crashes or hangs fails one call."""

from __future__ import annotations

import time

import pytest

from datasource_registry.adapters.runners import RUNNER_FAILED, RUNNER_TIMED_OUT, RunnerConnectorGateway
from datasource_registry.connectors import ConnectionTarget, ConnectorError
from datasource_registry.runtime import services
from devserver.runners import LambdaInvokeServer, RunnerPool, source_worker_factory
from devserver.template import ROOT, Function, physical_name
from tests.runner_probe import probe

PROBE = ROOT / "tests" / "runner_probe"


def probe_like(local_api, runner: str = "RunnerSqlFunction") -> Function:
    """The probe with exactly the environment the runner gets (the template's, run through the same factory)."""
    env = local_api.template.functions()[runner].environment
    return Function(logical_id="ProbeFunction", code_uri=PROBE, handler="probe.lambda_handler", environment=env)


@pytest.fixture
def probe_name(local_api) -> str:
    return local_api.runners.pool.add("ProbeFunction", probe_like(local_api))


def invoke(local_api, name: str, payload: dict) -> tuple[dict, str | None]:
    import json

    client = services().runner_client(30.0)
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload))
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_code_in_a_runner_process_cannot_read_the_registrys_table_or_secrets(local_api, probe_name):
    table = physical_name("DataSourcesTable")
    event = {"action": "aws", "endpoint": local_api.aws.endpoint_url, "table": table}

    outcome, failed = invoke(local_api, probe_name, event)

    assert failed is None, outcome
    assert (outcome["dynamodb"], outcome["secretsmanager"]) == ("NoCredentialsError", "NoCredentialsError")
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(outcome["environment"])
    assert (outcome["TABLE_NAME"], outcome["SECRET_PREFIX"]) == ("", "")


def test_the_same_probe_with_the_callers_credentials_does_read_them(local_api):
    # The control: the probe is able to read the registry when credentials are there (the test process has them).
    table = physical_name("DataSourcesTable")

    outcome = probe.lambda_handler({"action": "aws", "endpoint": local_api.aws.endpoint_url, "table": table}, None)

    assert (outcome["dynamodb"], outcome["secretsmanager"]) == ("read", "read")


def test_a_source_naming_the_registrys_own_table_reads_nothing_through_the_runner(local_api, client_for):
    # Locally, AWS sources without keys may borrow the function's credentials (DS_LOCAL_LEND_ROLE): in a runner
    # there are none to borrow, so the registry's table stays out of reach even with lending on.
    client = client_for("editor")
    body = {"name": "registry", "type": "dynamodb", "sourceConfig": {"table_name": physical_name("DataSourcesTable")}}

    answer = client.post("/api/v1/data-sources/test-connection", json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is False
    assert answer.json()["errorCode"] == "AUTH_FAILED", answer.json()


def gateway_to(name: str, margin: float | None = None) -> RunnerConnectorGateway:
    if margin is None:
        return RunnerConnectorGateway(services().runner_client, {"sql": name}, "127.0.0.0/8")
    return RunnerConnectorGateway(services().runner_client, {"sql": name}, "127.0.0.0/8", read_margin=margin)


def crashing(action: str) -> ConnectionTarget:
    return ConnectionTarget(type="postgresql", host="127.0.0.1", source_config={"action": action})


def test_a_runner_process_that_dies_fails_that_one_call_with_a_stable_code(local_api, probe_name):
    gateway = gateway_to(probe_name)

    result = gateway.check(crashing("crash"), {"password": "s3cr3t-in-payload"}, 5)

    assert (result.success, result.error_code) == (False, "UNEXPECTED")
    assert result.error == f"{RUNNER_FAILED} (Runtime.ExitError)"
    with pytest.raises(ConnectorError) as raised:
        gateway.discover(crashing("crash"), {}, 5)
    assert raised.value.code == "UNEXPECTED"
    # The next call gets a fresh process: one crash costs one call.
    assert gateway.check(crashing("garbage"), {}, 5).error == f"{RUNNER_FAILED}: its answer is not a runner answer"


def test_a_runner_that_hangs_past_the_deadline_fails_that_call_as_a_timeout(local_api, probe_name):
    gateway = gateway_to(probe_name, margin=0.0)
    target = ConnectionTarget(type="postgresql", host="127.0.0.1", source_config={"action": "sleep"})
    started = time.monotonic()

    result = gateway.check(target, {}, 1)

    assert (result.success, result.error_code, result.error) == (False, "TIMEOUT", RUNNER_TIMED_OUT)
    assert time.monotonic() - started < 10


def test_a_runner_past_its_function_timeout_is_killed_and_answers_sandbox_timedout(local_api):
    pool = RunnerPool({}, source_worker_factory(local_api.template, timeouts={"ProbeFunction": 1.0}))
    server = LambdaInvokeServer(pool)
    try:
        name = pool.add("ProbeFunction", probe_like(local_api))
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "lambda",
            endpoint_url=server.url,
            region_name="us-east-1",
            config=Config(read_timeout=30, retries={"max_attempts": 1}),
        )
        started = time.monotonic()
        response = client.invoke(FunctionName=name, Payload=b'{"action": "sleep", "seconds": 60}')

        assert response["FunctionError"] == "Unhandled"
        assert b"Sandbox.Timedout" in response["Payload"].read()
        assert time.monotonic() - started < 15
        assert pool.every[0].process.poll() is not None  # killed, never reused
    finally:
        server.stop()


def test_an_unknown_runner_is_a_clear_failure_not_an_exception(local_api):
    result = gateway_to("local-NoSuchRunner").check(crashing("x"), {}, 2)

    assert (result.success, result.error_code) == (False, "UNEXPECTED")
    assert result.error == f"{RUNNER_FAILED}: ResourceNotFoundException"


def test_a_schema_past_lambdas_6_mb_answer_comes_back_whole_through_a_real_runner(local_api):
    # 1,000 tables x 200 columns: its JSON is well past what a RequestResponse invocation may return.
    from datasource_registry.runner import RESPONSE_LIMIT

    target = ConnectionTarget(type="synthetic", source_config={"tables": 1000, "columns": 200})
    gateway = RunnerConnectorGateway(services().runner_client, {"kv-http": physical_name("RunnerKvHttpFunction")}, "")

    schema = gateway.discover(target, {}, 20)

    import json

    assert len(json.dumps(schema.to_dict())) > RESPONSE_LIMIT
    assert (len(schema.tables), sum(len(t.columns) for t in schema.tables)) == (1000, 200_000)
