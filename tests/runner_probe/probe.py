"""A test-only handler run where a connector runner runs (its process, its environment): what can code there reach?"""

import os
import time
from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    # Called directly ({"action": ...}) or through the gateway, with the action in the source's configuration.
    action = event.get("action") or event.get("target", {}).get("source_config", {}).get("action")
    if action == "crash":  # a driver that kills its process (a segfault in a native library, say)
        os._exit(3)
    if action == "sleep":  # a driver that hangs past every timeout
        time.sleep(float(event.get("seconds") or 30))
        return {"result": {"slept": True}}
    if action == "garbage":
        return {"neither": "result nor error"}
    # "aws": try to read the registry's table and secrets with whatever credentials this process can find.
    import boto3

    outcomes: dict[str, Any] = {"environment": sorted(k for k in os.environ if k.startswith("AWS_"))}
    outcomes["TABLE_NAME"] = os.environ.get("TABLE_NAME")
    outcomes["SECRET_PREFIX"] = os.environ.get("SECRET_PREFIX")
    calls = {
        "dynamodb": lambda c: c.get_item(TableName=event["table"], Key={"pk": {"S": "T#x"}, "sk": {"S": "COUNT"}}),
        "secretsmanager": lambda c: c.list_secrets(),
    }
    for service, call in calls.items():
        client = boto3.client(service, endpoint_url=event["endpoint"], region_name="us-east-1")
        try:
            call(client)
            outcomes[service] = "read"
        except Exception as exc:  # the outcome is the point: which error stopped the read
            outcomes[service] = type(exc).__name__
    return outcomes
