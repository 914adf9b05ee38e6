"""Connector library: test connections and discover schemas with each source's own driver, safely."""

from datasource_registry.connectors.api import check_connection, discover_schema
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import NetworkPolicy
from datasource_registry.connectors.result import ConnectionTestResult, Stage
from datasource_registry.connectors.target import ConnectionTarget
from datasource_registry.discovered import Column, DiscoveredSchema, Table

__all__ = [
    "Column",
    "ConnectionTarget",
    "ConnectionTestResult",
    "ConnectorError",
    "DiscoveredSchema",
    "ErrorCode",
    "NetworkPolicy",
    "Stage",
    "Table",
    "check_connection",
    "discover_schema",
]
