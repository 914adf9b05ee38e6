"""The connector gateway: the connector library with this deployment's network policy and AWS endpoint."""

from __future__ import annotations

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectionTestResult,
    DiscoveredSchema,
    NetworkPolicy,
    discover_schema,
    test_connection,
)


class LibraryConnectorGateway:
    def __init__(self, policy: NetworkPolicy, aws_endpoint_url: str | None = None) -> None:
        self._policy = policy
        self._aws_endpoint_url = aws_endpoint_url

    def test(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> ConnectionTestResult:
        return test_connection(
            target,
            credentials,
            self._policy,
            deadline_seconds=deadline_seconds,
            aws_endpoint_url=self._aws_endpoint_url,
        )

    def discover(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> DiscoveredSchema:
        return discover_schema(
            target,
            credentials,
            self._policy,
            deadline_seconds=deadline_seconds,
            aws_endpoint_url=self._aws_endpoint_url,
        )
