"""Per-container wiring: settings validated on first use, AWS clients and services created lazily, injectable."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from datasource_registry.domain.service import DataSourceService

if TYPE_CHECKING:
    import boto3


class Settings(BaseModel):
    """The environment a handler runs with (template.yaml's Globals); validated once per container."""

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=3)]
    secret_prefix: Annotated[str, Field(alias="SECRET_PREFIX", min_length=1)] = "datasource-registry"  # noqa: S105  # a name prefix, not a secret
    secret_recovery_days: Annotated[int, Field(alias="SECRET_RECOVERY_DAYS", ge=7, le=30)] = 7
    allowed_cidrs: Annotated[str, Field(alias="ALLOWED_CIDRS")] = ""
    refresh_queue_url: Annotated[str, Field(alias="REFRESH_QUEUE_URL")] = ""
    event_bus_name: Annotated[str, Field(alias="EVENT_BUS_NAME")] = "default"
    idempotency_table_name: Annotated[str, Field(alias="IDEMPOTENCY_TABLE_NAME")] = ""

    @classmethod
    def from_environment(cls) -> Settings:
        return cls.model_validate(dict(os.environ))


# Called with every AWS client built here; tests register botocore event handlers through it (fault injection).
CLIENT_HOOKS: list[Callable[[Any], None]] = []


@dataclass
class Services:
    """Everything a handler needs, built on first use and kept for the life of the container."""

    settings: Settings
    session: boto3.Session | None = None

    def client(self, name: str):  # type: ignore[no-untyped-def]  # boto3's client overloads are per service name
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)
        client = (self.session or boto3.Session()).client(name, config=config)  # type: ignore[call-overload]
        for hook in CLIENT_HOOKS:
            hook(client)
        return client

    @cached_property
    def dynamodb(self):  # type: ignore[no-untyped-def]
        return self.client("dynamodb")

    @cached_property
    def secretsmanager(self):  # type: ignore[no-untyped-def]
        return self.client("secretsmanager")

    @cached_property
    def data_sources(self) -> DataSourceService:
        from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository
        from datasource_registry.adapters.secrets import SecretsManagerSecretStore

        return DataSourceService(
            DynamoDbDataSourceRepository(self.dynamodb, self.settings.table_name),
            SecretsManagerSecretStore(
                self.secretsmanager, self.settings.secret_prefix, self.settings.secret_recovery_days
            ),
        )


_services: Services | None = None


def services() -> Services:
    global _services  # noqa: PLW0603  # one container-wide instance, created on first use
    if _services is None:
        _services = Services(Settings.from_environment())
    return _services


def use_services(replacement: Services | None) -> None:
    """Tests and the local server inject their own wiring (or None to rebuild from the environment)."""
    global _services  # noqa: PLW0603
    _services = replacement
