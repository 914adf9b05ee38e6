"""The connector gateway never lends the function's own AWS role to a tenant's source."""

from __future__ import annotations

import pytest

from datasource_registry.adapters.connectors import LibraryConnectorGateway
from datasource_registry.connectors import ConnectionTarget, ConnectorError, NetworkPolicy

TABLE = ConnectionTarget(type="dynamodb", source_config={"table_name": "local-DataSourcesTable"})


def test_an_aws_source_without_keys_is_refused_before_any_call():
    gateway = LibraryConnectorGateway(NetworkPolicy.from_string(""), "http://127.0.0.1:9")

    result = gateway.check(TABLE, {}, 5)

    assert (result.success, result.error_code) == (False, "AUTH_FAILED")
    assert "never lends its own role" in (result.error or "")
    with pytest.raises(ConnectorError):
        gateway.discover(TABLE, {}, 5)


@pytest.mark.server  # it reaches a closed loopback port
def test_with_keys_the_connector_runs(monkeypatch):
    gateway = LibraryConnectorGateway(NetworkPolicy.from_string(""), "http://127.0.0.1:9")

    result = gateway.check(TABLE, {"access_key_id": "AKIA", "secret_access_key": "s"}, 2)

    # Port 9 refuses: the connector itself ran and reported the network, not the role rule.
    assert result.error_code != "AUTH_FAILED"


@pytest.mark.parametrize(
    ("type_name", "path"),
    [("excel", "s3://registry-bucket/book.xlsx"), ("iceberg", "s3://registry-bucket/warehouse/t")],
)
def test_excel_and_iceberg_sources_without_keys_borrow_no_role(type_name: str, path: str):
    gateway = LibraryConnectorGateway(NetworkPolicy.from_string(""), "http://127.0.0.1:9")

    result = gateway.check(ConnectionTarget(type=type_name, file_path=path), {}, 5)

    assert (result.success, result.error_code) == (False, "AUTH_FAILED")
    assert "never lends its own role" in (result.error or "")
