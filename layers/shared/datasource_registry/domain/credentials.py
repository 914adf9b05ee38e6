"""Which credential values are in force for a data source: its own secret and the one it may name."""

from __future__ import annotations

from datasource_registry.domain.model import DataSource
from datasource_registry.domain.ports import SecretRef, SecretStore


def credentials_in_force(secrets: SecretStore, source: DataSource) -> dict[str, str]:
    """The values in force: the user's own secret (002's secretManagerKey), overlaid by the registry's.

    Raises PermissionError or LookupError when a secretManagerKey may not or cannot be read.
    """
    values: dict[str, str] = {}
    if source.spec.secret_manager_key:
        values.update(secrets.read_named(source.tenant_id, source.spec.secret_manager_key))
    if source.secret_arn and source.secret_version:
        values.update(secrets.read(SecretRef(source.secret_arn, source.secret_version)))
    return values


def registry_credentials(secrets: SecretStore, source: DataSource) -> dict[str, str]:
    """Only the values in the registry's own secret: what a credential write starts from.

    The user's own secret (secretManagerKey) is never copied into the registry's, and one that is missing or
    unreadable does not stand in the way of writing the registry's.
    """
    if source.secret_arn and source.secret_version:
        return secrets.read(SecretRef(source.secret_arn, source.secret_version))
    return {}
