"""The sql connector runner (PostgreSQL, Redshift, MySQL, MariaDB, SQL Server, Oracle, `database`): no permission on the registry."""

from typing import Any

from datasource_registry.runner import handle


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return handle(event)
