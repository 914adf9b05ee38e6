"""A source stored with `connectorKey` alone (003's kafka: no DataSourceType) reaches its connector and runner."""

from __future__ import annotations

from datasource_registry.connectors import NetworkPolicy, check_connection
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.schema_service import target_of
from datasource_registry.runner import family_of


def test_a_connector_key_only_source_is_tested_by_its_connector_in_its_family() -> None:
    # Given a kafka source, which has a connectorKey and no type
    spec = DataSourceSpec.model_validate({"name": "events", "connectorKey": "kafka", "sourceConfig": {"topics": []}})
    assert spec.type is None
    # When the registry builds what the connector library takes
    target = target_of(spec, {})
    # Then the connector is found by the key (kafka's own refusal, not "connector not supported yet")
    assert target.type == "kafka" and family_of(target.type) == "kv-http"
    result = check_connection(target, {}, NetworkPolicy())
    assert result.error_code == "INVALID_CONFIG" and "bootstrapServers" in (result.error or "")


def test_a_source_with_neither_is_type_other() -> None:
    assert target_of(DataSourceSpec.model_validate({"name": "x"}), {}).type == "other"
