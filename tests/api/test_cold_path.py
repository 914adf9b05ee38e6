"""What a cold start loads and builds: nothing a request does not use (each case in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devserver.template import ROOT
from tests.conftest import load_event

PRELUDE = """
import importlib.util, json, sys
from devserver.lambdas import LocalContext
def handler(name):
    spec = importlib.util.spec_from_file_location("app", f"functions/{name}/app.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module
"""


def run(code: str, **env: str) -> dict:
    """Runs code in a fresh interpreter from the repository root; it prints one JSON document."""
    output = subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        cwd=ROOT,
        env={**os.environ, "DS_ACCESS_LOG": "0", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def loaded(prefixes: tuple[str, ...]) -> str:
    return f"json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"


def test_importing_a_create_handler_loads_no_tracer_sdk_no_idempotency_utility_and_no_boto3() -> None:
    # Given Lambda's environment with tracing on
    env = {"LAMBDA_TASK_ROOT": str(ROOT), "POWERTOOLS_TRACE_DISABLED": "false"}

    # When a create handler (Idempotency-Key capable) is imported
    found = run(
        f"handler('create_data_source'); print({loaded(('aws_xray_sdk', 'boto3', 'aws_lambda_powertools.utilities.idem'))})",
        **env,
    )

    # Then neither the X-Ray SDK, the idempotency utility nor boto3 is loaded yet
    assert found == [], found


def test_a_read_builds_one_dynamodb_client_and_no_secrets_manager_client(local_api, tenant) -> None:
    # Given a data source
    created = local_api.invoker.invoke("CreateDataSourceFunction", load_event("create_data_source.json", tenant=tenant))
    assert created["statusCode"] == 201

    # When a fresh container serves a read by key
    event = json.dumps(load_event("get_data_source.json", tenant=tenant))
    answer = run(
        "from datasource_registry import runtime\n"
        "built = []\n"
        "runtime.CLIENT_HOOKS.append(lambda client: built.append(client.meta.service_model.service_name))\n"
        f"response = handler('get_data_source').lambda_handler(json.loads({event!r}), LocalContext('f'))\n"
        "print(json.dumps({'status': response['statusCode'], 'clients': built, 'boto3': 'boto3' in sys.modules}))",
        AWS_ENDPOINT_URL=local_api.aws.endpoint_url,
        **{k: v for k, v in os.environ.items() if k in {"TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SECRET_PREFIX"}},
    )

    # Then it answered from DynamoDB alone, with one client from botocore's session (boto3 imports s3transfer)
    assert answer == {"status": 200, "clients": ["dynamodb"], "boto3": False}, answer


def test_the_tracer_patches_botocore_only_and_only_on_the_first_invocation(local_api, tenant) -> None:
    # Given Lambda's environment with tracing on and a daemon address nobody listens on
    env = {
        "LAMBDA_TASK_ROOT": str(ROOT),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_ENDPOINT_URL": local_api.aws.endpoint_url,
    }
    env.update({k: v for k, v in os.environ.items() if k in {"TABLE_NAME", "SECRET_PREFIX"}})
    event = json.dumps(load_event("list_data_sources.json", tenant=tenant))

    # When a handler is imported, then invoked once
    found = run(
        "module = handler('list_data_sources')\n"
        "before = 'aws_xray_sdk.core' in sys.modules\n"
        f"status = module.lambda_handler(json.loads({event!r}), LocalContext('f'))['statusCode']\n"
        "from aws_xray_sdk.core import patcher\n"
        "print(json.dumps({'before': before, 'status': status, 'patched': sorted(patcher._PATCHED_MODULES),\n"
        "    'drivers': sorted(m for m in ('psycopg', 'pymysql', 'requests') if m in sys.modules)}))",
        **env,
    )

    # Then the X-Ray SDK came with the first invocation and patched botocore and nothing else
    assert found == {"before": False, "status": 200, "patched": ["botocore"], "drivers": []}, found
