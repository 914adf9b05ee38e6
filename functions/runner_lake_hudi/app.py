"""The lake-hudi connector runner (Apache Hudi tables on S3, hudi-rs): no permission on the registry."""

from typing import Any

from datasource_registry.runner import handle


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return handle(event)
