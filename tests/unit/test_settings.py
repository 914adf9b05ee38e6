"""Settings: validated at cold start, per function, with no silent defaults."""

from __future__ import annotations

import ast

import pytest
from pydantic import ValidationError

from datasource_registry import runtime
from datasource_registry.runtime import OPTIONAL_SETTINGS, MissingSetting, Settings, cold_start
from devserver.template import load

GLOBALS = {
    "TABLE_NAME": "local-DataSourcesTable",
    "SECRET_PREFIX": "datasource-registry/local",
    "SECRET_RECOVERY_DAYS": "7",
    "ALLOWED_CIDRS": "",
    "ALLOW_FUNCTION_ROLE_FOR_AWS": "false",
    "REVISION_RETENTION_DAYS": "365",
}


def declared_needs(code: str) -> set[str]:
    """The settings a handler module names in its `cold_start(...)` call (None when it makes none)."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "cold_start":
            return {arg.value for arg in node.args if isinstance(arg, ast.Constant)}
    raise LookupError("no cold_start call")


def test_every_function_using_the_services_declares_its_settings_and_the_template_gives_them():
    template = load()
    checked = 0
    for name, function in template.functions().items():
        code = (function.code_uri / "app.py").read_text()
        if function.is_runner or "runtime import" not in code:
            continue
        needs = declared_needs(code)
        env = function.environment  # the Globals' and its own
        missing = {alias for alias in needs if env.get(alias) in (None, "")}
        assert not missing, f"{name} needs {sorted(missing)}, which template.yaml does not give it"
        checked += 1
    assert checked > 30


def test_what_code_reads_through_need_is_declared_by_the_functions_that_read_it():
    # The services that read an optional setting, and the functions that use those services.
    readers = {
        "CONNECTOR_RUNNERS": {"test_connection", "test_unsaved_connection", "discover_schema", "refresh_schema"},
        "EVENT_BUS_NAME": {"refresh_schema", "discover_schema"},
        "REFRESH_QUEUE_URL": {"sweep_due_refreshes", "discover_schema"},
        "IDEMPOTENCY_TABLE_NAME": {"create_data_source", "public_create_data_sources"},
    }
    template = load()
    by_dir = {f.code_uri.name: f for f in template.functions().values()}
    for alias, functions in readers.items():
        for directory in functions:
            assert alias in declared_needs((by_dir[directory].code_uri / "app.py").read_text()), (alias, directory)


def test_a_missing_global_is_refused_and_an_empty_optional_one_is_none():
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({k: v for k, v in GLOBALS.items() if k != "SECRET_PREFIX"})
    assert "SECRET_PREFIX" in str(refused.value)
    settings = Settings.model_validate(GLOBALS)
    assert settings.event_bus_name is None and settings.connector_runners is None
    assert set(OPTIONAL_SETTINGS) == {
        "REFRESH_QUEUE_URL",
        "EVENT_BUS_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "CONNECTOR_RUNNERS",
    }


def test_a_function_started_without_a_setting_it_needs_fails_at_cold_start_naming_it(monkeypatch):
    for key, value in GLOBALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-RefreshSchemaFunction")  # as Lambda sets it
    saved = runtime._services
    runtime.use_services(None)
    try:
        with pytest.raises(MissingSetting, match="EVENT_BUS_NAME"):
            cold_start("EVENT_BUS_NAME")
        monkeypatch.setenv("EVENT_BUS_NAME", "bus")
        runtime.use_services(None)
        cold_start("EVENT_BUS_NAME")  # given, it starts
        assert runtime.services().settings.need("EVENT_BUS_NAME") == "bus"
    finally:
        runtime.use_services(saved)
        runtime._NEEDED.discard("EVENT_BUS_NAME")
    with pytest.raises(ValueError, match="not optional settings"):
        cold_start("TABLE_NAME")


def test_services_a_function_does_not_use_need_no_setting_until_used(monkeypatch):
    from datasource_registry.connectors import ConnectionTarget
    from datasource_registry.runtime import Services

    # Clients are built, never called: a region and placeholder keys spare botocore its lookups.
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)

    services = Services(Settings.model_validate(GLOBALS))
    schemas, jobs = services.schemas, services.discovery_jobs  # what GET .../schema and .../discoveries build

    assert schemas is not None and jobs is not None
    with pytest.raises(MissingSetting, match="CONNECTOR_RUNNERS"):
        schemas._connectors.check(ConnectionTarget(type="synthetic"), {}, 1.0)
