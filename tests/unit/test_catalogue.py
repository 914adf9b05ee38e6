"""The connector catalogue: it covers every type, says honestly what runs, and its JSON Schemas judge configurations
exactly as the registry's validation does (checked against an independent JSON Schema validator)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasource_registry.connectors import ConnectionTarget
from datasource_registry.connectors.api import _MODULES, _module_name
from datasource_registry.domain import catalogue
from datasource_registry.domain.errors import FieldError
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.rules import configuration_errors, missing_configuration
from datasource_registry.domain.types import DataSourceType
from datasource_registry.secret_parts import PLACEHOLDER, is_secret_name, split_document

ENTRIES = list(catalogue.catalogue().values())
IDS = [entry.key for entry in ENTRIES]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_no_type_answers_unsupported_every_one_but_other_has_a_connector(entry):
    # 001's enum, 000's types and 003's connector keys: each is tested and discovered by a connector module
    if entry.key == "other":  # names no system: stored only, and a test says so (INVALID_CONFIG)
        assert entry.status == "stored-only" and not entry.capabilities.test
        return
    assert entry.status == "supported" and entry.capabilities.test and entry.capabilities.discover
    string = "postgresql://db.example.com/analytics" if entry.key == "database" else None
    module = import_module(
        f"datasource_registry.connectors.{_module_name(ConnectionTarget(type=entry.key, connection_string=string))}"
    )
    assert callable(module.check) and callable(module.discover)


def test_every_type_of_001_and_000_and_the_003_connector_keys_is_catalogued():
    keys = set(catalogue.catalogue())
    assert {t.value for t in DataSourceType} <= keys
    assert {"kafka", "salesforce", "s3", "snowflake"} <= keys  # 003's examples of connector keys
    assert [e.key for e in ENTRIES if not e.is_type] == ["kafka", "salesforce"]


def test_test_and_discover_are_claimed_exactly_where_a_connector_exists():
    # connectors/api.py picks a module per type; `database` picks one by the connection string's scheme.
    claimed = {e.key for e in ENTRIES if e.capabilities.test}
    assert claimed == {str(key) for key in _MODULES} | {"database"}
    assert all(e.capabilities.test == e.capabilities.discover for e in ENTRIES)
    assert {e.key for e in ENTRIES if e.status == "supported"} >= {
        "snowflake",
        "bigquery",
        "salesforce",
        "elasticsearch",
        "kafka",
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_each_example_is_valid_for_the_schema_and_for_the_registry(entry):
    schema = catalogue.config_schema(entry)
    jsonschema.Draft202012Validator.check_schema(schema)
    # Given the published example, When the schema and the registry judge it, Then both accept it
    jsonschema.validate(entry.example, schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(entry.example, schema.get("x-ready-when", {}), cls=jsonschema.Draft202012Validator)
    spec = DataSourceSpec.model_validate({k: v for k, v in entry.example.items() if k != "credentials"})
    assert configuration_errors(spec) == []
    assert (spec.type is None) or missing_configuration(spec) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_secret_fields_are_marked_in_the_schema_and_are_what_secret_parts_moves_out(entry):
    schema = catalogue.config_schema(entry)
    for setting in entry.settings:
        marked = schema["properties"]["sourceConfig"]["properties"][setting.name].get("x-secret", False)
        assert marked == setting.secret
        # The one list: secret_parts splits exactly the settings the catalogue marks (and no declared other one)
        assert is_secret_name(setting.name) == setting.secret, setting.name
        stored, values = split_document({setting.name: "v-1"}, "sourceConfig")
        assert (stored[setting.name] == PLACEHOLDER) == setting.secret
        assert (values == {f"sourceConfig.{setting.name}": "v-1"}) == setting.secret
    for name in entry.credentials:
        member = schema["properties"]["credentials"]["properties"][name]
        assert member["writeOnly"] is True and member["x-secret"] is True
        assert member["x-secret-store"] == "aws-secretsmanager"


def test_a_secret_the_heuristic_would_miss_is_still_moved_when_the_catalogue_marks_it():
    # Given a setting the catalogue marks secret whose name says nothing a name rule would catch
    assert "serviceAccountJson" in catalogue.secret_setting_names()
    # When a document holding it is split, Then its value goes to the secret
    stored, values = split_document({"serviceAccountJson": '{"type": "service_account"}'}, "sourceConfig")
    assert stored == {"serviceAccountJson": PLACEHOLDER}
    assert values == {"sourceConfig.serviceAccountJson": '{"type": "service_account"}'}
    assert split_document({"bootstrapServers": "b:9092"}, "sourceConfig")[1] == {}  # an unmarked one stays


def test_errors_name_the_fields_the_api_uses():
    def errors(**fields: Any) -> list[FieldError]:
        return configuration_errors(DataSourceSpec.model_validate({"name": "x", **fields}))

    assert errors(type="postgresql", host="h") == [
        FieldError("port", "is required for postgresql unless connectionString is given"),
        FieldError("databaseName", "is required for postgresql unless connectionString is given"),
    ]
    assert errors(type="csv") == [FieldError("filePath", "is required for file-based type csv")]
    assert errors(type="s3", useSshTunnel=True, sshHost="h") == [
        FieldError("sshUsername", "is required when useSshTunnel is true")
    ]
    assert errors(type="s3", sourceConfig={"bucket": 5}) == [FieldError("sourceConfig.bucket", "must be a string")]
    assert errors(connectorKey="kafka", sourceConfig={"securityProtocol": "SSL", "topics": ["a", 1]}) == [
        FieldError("sourceConfig.topics", "must be a list of strings")
    ]
    assert errors(type="synthetic", sourceConfig={"tables": 5000}) == [
        FieldError("sourceConfig.tables", "must be at most 1000")
    ]
    assert errors(connectorKey="not-catalogued", sourceConfig={"bucket": 5}) == []  # 003: any key is allowed


# -- the schema and the code agree on every document --------------------------------------------------------------
def _bad_values(setting: catalogue.Setting) -> list[Any]:
    wrong_type = 7 if setting.kind in {"string", "boolean", "array"} else "7"
    bad = [wrong_type, None, True if setting.kind != "boolean" else "yes"]
    if setting.minimum is not None:
        bad.append(setting.minimum - 1)
    if setting.maximum is not None:
        bad.append(setting.maximum + 1)
    if setting.choices:
        bad.append("NOT-A-CHOICE")
    if setting.kind == "array":
        bad.append(["ok", 3])
    return bad


def _good_values(setting: catalogue.Setting) -> list[Any]:
    return {
        "string": [list(setting.choices) or ["v", ""]][0],
        "integer": [setting.minimum if setting.minimum is not None else 0, setting.maximum or 9],
        "boolean": [True, False],
        "array": [[], ["t"]],
    }[setting.kind]


# Values valid for the data source's own fields (pydantic checks those; its schemas are copied into the catalogue).
_FIELD_VALUES: dict[str, list[Any]] = {
    "host": ["db.example.com"],
    "port": [5432],
    "databaseName": ["d"],
    "connectionString": ["postgresql://u@h/d"],
    "filePath": ["a/b.csv"],
    "sshHost": ["bastion"],
    "sshUsername": ["u"],
}


@st.composite
def _documents(draw: st.DrawFn, entry: catalogue.ConnectorType) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, values in _FIELD_VALUES.items():
        choice = draw(st.sampled_from(["absent", "null", "given"]))
        if choice != "absent":
            document[name] = None if choice == "null" else draw(st.sampled_from(values))
    tunnel = draw(st.sampled_from(["absent", True, False]))
    if tunnel != "absent":
        document["useSshTunnel"] = tunnel
    if draw(st.booleans()):
        config: dict[str, Any] = {"someOtherKey": draw(st.sampled_from([1, "x", None]))}
        for setting in entry.settings:
            choice = draw(st.sampled_from(["absent", "good", "bad"]))
            if choice != "absent":
                pool = _good_values(setting) if choice == "good" else _bad_values(setting)
                config[setting.name] = draw(st.sampled_from(pool))
        document["sourceConfig"] = config
    return document


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_published_schema_and_the_validation_agree(entry, data):
    schema = catalogue.config_schema(entry)
    validator = jsonschema.Draft202012Validator(schema)
    ready = jsonschema.Draft202012Validator(schema.get("x-ready-when", {}))
    document = data.draw(_documents(entry))
    # When the registry's rules and an independent JSON Schema validator judge the same configuration
    errors = catalogue.configuration_errors(document, entry)
    # Then they agree on whether it is valid, and on whether it is ready to connect
    assert (errors == []) == validator.is_valid(document), (errors, list(validator.iter_errors(document)))
    assert (catalogue.missing_configuration(document, entry) == []) == ready.is_valid(document)


def test_the_catalogue_s_secret_settings_are_exactly_the_list_secret_parts_moves_out():
    from datasource_registry.domain.catalogue import secret_setting_names
    from datasource_registry.secret_parts import CATALOGUE_SECRET_SETTINGS

    assert secret_setting_names() == CATALOGUE_SECRET_SETTINGS
