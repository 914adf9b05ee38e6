"""Rules a data source must satisfy beyond single fields (001's validations), and its derived health (000)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from datasource_registry.domain import catalogue
from datasource_registry.domain.errors import FieldError
from datasource_registry.domain.model import DataSource, DataSourceSpec, Health
from datasource_registry.domain.types import DataSourceType

CREDENTIAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")

# Health codes: 000 gives 001; the rest are ours, ordered by how far along a source is.
REQUIRES_CONFIGURATION = Health(code="001", reason="Requires configuration.", healthy=False)
REQUIRES_SECRETS = Health(code="002", reason="Requires secrets.", healthy=False)
NOT_TESTED = Health(code="003", reason="Configured; connection not tested yet.", healthy=False)
HEALTHY = Health(code="100", reason="Healthy.", healthy=True)


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic's errors as field-level reasons, with camelCase paths as clients write them."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(to_camel(str(part)) if isinstance(part, str) else f"[{part}]" for part in error["loc"])
        field = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        errors.append(FieldError(field=field.replace(".[", "["), reason=error["msg"]))
    return errors


def configuration_errors(spec: DataSourceSpec) -> list[FieldError]:
    """001's cross-field validations; each error names the field a client must fix."""
    errors: list[FieldError] = []
    if spec.type is not None and spec.connector_key in set(DataSourceType) and spec.connector_key != spec.type:
        errors.append(FieldError("connectorKey", f"names type {spec.connector_key!r} but type is {spec.type.value!r}"))
    # The connector's rules, as the catalogue publishes them (GET /api/v1/connector-types/{type}).
    entry = catalogue.connector_of(spec.type.value if spec.type else None, spec.connector_key)
    errors += [FieldError(path, reason) for path, reason in catalogue.configuration_errors(configuration(spec), entry)]
    for setting, name in spec.secret_refs.items():
        if not CREDENTIAL_NAME.match(name):
            errors.append(FieldError(f"secretRefs.{setting}", "must be a credential name like S3_ACCESS_KEY"))
    return errors


def missing_configuration(spec: DataSourceSpec) -> list[str]:
    """What a source still lacks before it can be connected to (000's state 001)."""
    if spec.type is None:
        return ["type"]
    entry = catalogue.connector_of(spec.type.value, spec.connector_key)
    if entry is None or not entry.ready_when:  # most types: nothing to read (every view asks)
        return []
    return catalogue.missing_configuration(configuration(spec), entry)


def configuration(spec: DataSourceSpec) -> dict[str, Any]:
    """The spec's fields by the camelCase names the catalogue's schemas use (as a client writes them)."""
    return {to_camel(name): getattr(spec, name) for name in DataSourceSpec.model_fields}


def missing_secrets(source: DataSource) -> list[str]:
    if source.spec.secret_manager_key:
        return []  # the credentials live in the user's own secret; the connection test reads it
    required = set(source.spec.secret_refs.values())
    if source.spec.use_ssh_tunnel:
        required.add("ssh_private_key")
    return sorted(required - set(source.credential_names))


def health_of(source: DataSource) -> Health:
    if missing_configuration(source.spec):
        return REQUIRES_CONFIGURATION
    if missing_secrets(source):
        return REQUIRES_SECRETS
    if source.last_test_ok is None:
        return NOT_TESTED
    if source.last_test_ok:
        return HEALTHY
    reason = f"Connection failing: {source.failure_reason}." if source.failure_reason else "Connection failing."
    return Health(code="500", reason=reason, healthy=False)


def connection_checked(source: DataSource, now: datetime, *, healthy: bool, reason: str | None) -> dict[str, Any]:
    """The one outcome rule of a connection check, a user's test or a scheduled refresh alike.

    failureCount counts consecutive failed checks: a success sets it to 0 (and the state to Healthy), a failure
    adds one and says why.
    """
    if healthy:
        return {
            "last_tested_at": now,
            "last_successful_connection_at": now,
            "last_test_ok": True,
            "failure_count": 0,
            "failure_reason": None,
        }
    return {
        "last_tested_at": now,
        "last_failed_connection_at": now,
        "last_test_ok": False,
        "failure_count": source.failure_count + 1,
        "failure_reason": (reason or "the connection test failed")[:500],
    }


# Changing any of these makes the last connection test say nothing about the new configuration.
CONNECTION_FIELDS = frozenset(
    {
        "type",
        "host",
        "port",
        "database_name",
        "schema_name",
        "connection_string",
        "file_path",
        "use_ssh_tunnel",
        "ssh_host",
        "ssh_port",
        "ssh_username",
        "ssh_host_key_fingerprint",
        "source_config",
        "region",
        "secret_refs",
        "secret_manager_key",
    }
)


def connection_changed(before: DataSourceSpec, after: DataSourceSpec) -> bool:
    return any(getattr(before, name) != getattr(after, name) for name in CONNECTION_FIELDS)


def spec_from_changes(current: DataSourceSpec, changes: dict[str, Any]) -> DataSourceSpec:
    """Apply `changes` (field name -> new value; only given fields change) and validate the whole result."""
    merged = current.model_dump(mode="json")
    followed = current.connector_key == (current.type.value if current.type else "")
    if "type" in changes and "connector_key" not in changes and followed:
        merged["connector_key"] = ""  # it followed the type before; let it follow the new one
    if "connector_key" in changes and "type" not in changes:
        # 003 names the connector by key: a key that is a type brings the type along (s3 -> snowflake); one that
        # is not (s3 -> kafka) leaves no type behind that only followed the old key.
        new_key = changes["connector_key"]
        if new_key in DataSourceType._value2member_map_:
            merged["type"] = new_key
        elif followed:
            merged["type"] = None
    merged.update(changes)
    # Strict JSON validation: `true` is not a port and "5" is not a pool size, as the OpenAPI document says.
    return DataSourceSpec.model_validate_json(json.dumps(merged), strict=True)


def unreferenced_credentials(spec: DataSourceSpec, names: list[str]) -> list[FieldError]:
    """000: the keys of a secrets body must be `env_key`s the connection names."""
    referenced = set(spec.secret_refs.values())
    return [
        FieldError(name, "is not an env_key of the connection; configure the connection first")
        for name in names
        if name not in referenced
    ]
