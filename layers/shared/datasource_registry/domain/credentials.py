"""Credentials of a data source: the values in force, and the secrets its connection string and documents carry."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.secret_parts import (
    UnreadableText,
    assemble_connection_string,
    assemble_document,
    redact_connection_string,
    redact_document,
    split_connection_string,
    split_document,
)


def secrets_out(spec: DataSourceSpec) -> tuple[DataSourceSpec, dict[str, str]]:
    """The spec as stored (secrets in its connection string and documents replaced by PLACEHOLDER) and the
    credential values they held. Raises ValidationFailed, naming the field, for text that cannot be split safely."""
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    update: dict[str, Any] = {}
    if spec.connection_string:
        try:
            split = split_connection_string(spec.connection_string)
        except UnreadableText as error:
            errors.append(FieldError("connectionString", error.reason))
        else:
            if split.conflicts:
                errors.append(
                    FieldError(
                        "connectionString", f"gives {', '.join(sorted(set(split.conflicts)))} twice, differently"
                    )
                )
            update["connection_string"] = split.text
            values.update(split.values)
    for name, prefix in (("source_config", "sourceConfig"), ("metadata", "metadata")):
        try:
            document, found = split_document(getattr(spec, name), prefix)
        except UnreadableText as error:
            errors.append(FieldError(prefix, error.reason))
        else:
            update[name] = document
            values.update(found)
    if errors:
        raise ValidationFailed(errors)
    return spec.model_copy(update=update), values


def shown_texts(source: DataSource) -> dict[str, Any]:
    """The spec's free-text fields as every answer shows them: a secret as PLACEHOLDER where a value is set, never
    the value (records written before the registry split strings included)."""
    spec = source.spec
    # A secret the user keeps in their own secret (secretManagerKey) may fill any place: show them all.
    configured: Collection[str] | None = None if spec.secret_manager_key else source.credential_names
    return {
        "connection_string": redact_connection_string(spec.connection_string, configured)
        if spec.connection_string
        else spec.connection_string,
        "source_config": redact_document(spec.source_config, "sourceConfig", configured),
        "metadata": redact_document(spec.metadata, "metadata", configured),
    }


def in_memory(spec: DataSourceSpec, credentials: Mapping[str, str]) -> DataSourceSpec:
    """The spec a connector gets: each placeholder filled with its credential, in memory only."""
    return spec.model_copy(
        update={
            "connection_string": assemble_connection_string(spec.connection_string, credentials)
            if spec.connection_string
            else spec.connection_string,
            "source_config": assemble_document(spec.source_config, "sourceConfig", credentials),
        }
    )
