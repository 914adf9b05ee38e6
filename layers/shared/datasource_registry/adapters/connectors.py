"""The connector gateway: the connector library with this deployment's network policy and AWS endpoint."""

from __future__ import annotations

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectionTestResult,
    ConnectorError,
    DiscoveredSchema,
    ErrorCode,
    NetworkPolicy,
    Stage,
    check_connection,
    discover_schema,
)

# Sources read through AWS APIs with boto3: without keys of their own they would borrow the function's role.
AWS_TYPES = frozenset({"s3", "csv", "json", "parquet", "orc", "excel", "iceberg", "dynamodb", "delta_lake", "hudi"})
NO_BORROWED_ROLE = (
    "AWS sources need accessKeyId and secretAccessKey: this deployment never lends its own role "
    "(set AllowFunctionRoleForAws to change that)"
)


def borrows_role(target: ConnectionTarget, credentials: dict[str, str], *, lend_function_role: bool) -> bool:
    """An AWS source without keys of its own would run with the role of whoever runs it: refused unless lent.

    Otherwise a tenant could point a source at the registry's own table or buckets and read them.
    """
    has_keys = bool(credentials.get("access_key_id") and credentials.get("secret_access_key"))
    return target.type in AWS_TYPES and not has_keys and not lend_function_role


class LibraryConnectorGateway:
    def __init__(
        self, policy: NetworkPolicy, aws_endpoint_url: str | None = None, lend_function_role: bool = False
    ) -> None:
        self._policy = policy
        self._aws_endpoint_url = aws_endpoint_url
        self._lend_function_role = lend_function_role

    def _borrows_role(self, target: ConnectionTarget, credentials: dict[str, str]) -> bool:
        return borrows_role(target, credentials, lend_function_role=self._lend_function_role)

    def check(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> ConnectionTestResult:
        if self._borrows_role(target, credentials):
            stage = Stage("authenticate", False, 0.0, NO_BORROWED_ROLE)
            return ConnectionTestResult(False, [stage], 0.0, ErrorCode.AUTH_FAILED.value, NO_BORROWED_ROLE)
        return check_connection(
            target,
            credentials,
            self._policy,
            deadline_seconds=deadline_seconds,
            aws_endpoint_url=self._aws_endpoint_url,
        )

    def discover(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> DiscoveredSchema:
        if self._borrows_role(target, credentials):
            raise ConnectorError(ErrorCode.AUTH_FAILED, NO_BORROWED_ROLE)
        return discover_schema(
            target,
            credentials,
            self._policy,
            deadline_seconds=deadline_seconds,
            aws_endpoint_url=self._aws_endpoint_url,
        )
