"""The kv-http connector runner (Redis, http_api, synthetic, types not served yet): no permission on the registry."""

from typing import Any

from datasource_registry.runner import handle


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return handle(event)
