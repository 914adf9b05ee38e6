"""Per-container wiring: settings validated on first use, AWS clients and services created lazily, injectable."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field

from datasource_registry.domain.service import DataSourceService, utc_now

if TYPE_CHECKING:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from datasource_registry.domain.history import HistoryService
    from datasource_registry.domain.jobs import DiscoveryJobs
    from datasource_registry.domain.ports import SchemaRefresher
    from datasource_registry.domain.refresh_service import RefreshSweeper, RefreshWorker
    from datasource_registry.domain.schemas import SchemaService
    from datasource_registry.domain.systems import DataSystemService


class Settings(BaseModel):
    """The environment a handler runs with (template.yaml's Globals); validated once per container."""

    model_config = ConfigDict(defer_build=True)

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=3)]
    secret_prefix: Annotated[str, Field(alias="SECRET_PREFIX", min_length=1)] = "datasource-registry"  # noqa: S105  # a name prefix, not a secret
    secret_recovery_days: Annotated[int, Field(alias="SECRET_RECOVERY_DAYS", ge=7, le=30)] = 7
    allowed_cidrs: Annotated[str, Field(alias="ALLOWED_CIDRS")] = ""
    lend_function_role: Annotated[bool, Field(alias="ALLOW_FUNCTION_ROLE_FOR_AWS")] = False
    refresh_queue_url: Annotated[str, Field(alias="REFRESH_QUEUE_URL")] = ""
    event_bus_name: Annotated[str, Field(alias="EVENT_BUS_NAME")] = "default"
    idempotency_table_name: Annotated[str, Field(alias="IDEMPOTENCY_TABLE_NAME")] = ""
    # How long revisions and audit events are kept (DynamoDB TTL; template.yaml's RevisionRetentionDays).
    revision_retention_days: Annotated[int, Field(alias="REVISION_RETENTION_DAYS", ge=1, le=3650)] = 365

    @classmethod
    def from_environment(cls) -> Settings:
        return cls.model_validate(dict(os.environ))


class _OnFirstUse:
    """Stands for a client and builds it on the first attribute looked up (a method call, `.exceptions`)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._build()
        return getattr(self._client, name)


# Called with every AWS client built here; tests register botocore event handlers through it (fault injection).
CLIENT_HOOKS: list[Callable[[Any], None]] = []


@dataclass
class Services:
    """Everything a handler needs, built on first use and kept for the life of the container."""

    settings: Settings
    session: boto3.Session | None = None
    clock: Callable[[], datetime] = utc_now  # tests freeze time here; every service reads it on each call

    @cached_property
    def aws(self) -> Callable[..., Any]:
        """The container's one session's client factory: every client shares its models, endpoints, credentials.

        Without an injected boto3 Session it is botocore's own: low-level clients are the same objects either
        way, and importing boto3 also imports s3transfer, about a third of a cold start's AWS SDK import.
        """
        if self.session is not None:
            return self.session.client
        import botocore.session

        return botocore.session.get_session().create_client

    def client(self, name: str):  # type: ignore[no-untyped-def]  # boto3's client overloads are per service name
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)
        client = self.aws(name, config=config)
        for hook in CLIENT_HOOKS:
            hook(client)
        return client

    @cached_property
    def dynamodb(self):  # type: ignore[no-untyped-def]
        return self.client("dynamodb")

    @cached_property
    def secretsmanager(self):  # type: ignore[no-untyped-def]
        return self.client("secretsmanager")

    @property
    def lazy_secretsmanager(self) -> SecretsManagerClient:
        """The Secrets Manager client, built on its first call: reads that never touch a secret never build it."""
        return cast("SecretsManagerClient", _OnFirstUse(lambda: self.secretsmanager))

    @cached_property
    def data_sources(self) -> DataSourceService:
        from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository
        from datasource_registry.adapters.secrets import SecretsManagerSecretStore

        service = DataSourceService(
            DynamoDbDataSourceRepository(
                self.dynamodb, self.settings.table_name, self.settings.revision_retention_days
            ),
            SecretsManagerSecretStore(
                self.lazy_secretsmanager, self.settings.secret_prefix, self.settings.secret_recovery_days
            ),
            clock=lambda: self.clock(),  # noqa: PLW0108  # late-bound: a clock swapped in later still applies
        )
        # Deleting a source first removes what it owns, whichever function deletes it: its snapshots, and its
        # links from data systems (late-bound: the data systems service reads sources through this one).
        from datasource_registry.adapters.snapshots import DynamoDbSnapshotStore

        snapshots = DynamoDbSnapshotStore(self.dynamodb, self.settings.table_name)
        service.owns(lambda source: snapshots.delete_all(source.tenant_id, source.id))
        from datasource_registry.adapters.jobs import DynamoDbJobStore

        jobs = DynamoDbJobStore(self.dynamodb, self.settings.table_name)
        service.owns(lambda source: jobs.delete_all(source.tenant_id, source.id))
        service.owns(lambda source: self.data_systems.forget_source(source))  # noqa: PLW0108
        return service

    @cached_property
    def schemas(self) -> SchemaService:
        from datasource_registry.adapters.connectors import LibraryConnectorGateway
        from datasource_registry.adapters.snapshots import DynamoDbSnapshotStore
        from datasource_registry.connectors.network import NetworkPolicy
        from datasource_registry.domain.schemas import SchemaService

        gateway = LibraryConnectorGateway(
            NetworkPolicy.from_string(self.settings.allowed_cidrs),
            os.environ.get("AWS_ENDPOINT_URL") or None,
            self.settings.lend_function_role,
        )
        return SchemaService(self.data_sources, DynamoDbSnapshotStore(self.dynamodb, self.settings.table_name), gateway)

    @cached_property
    def data_systems(self) -> DataSystemService:
        from datasource_registry.adapters.systems import DynamoDbDataSystemRepository
        from datasource_registry.domain.systems import DataSystemService

        return DataSystemService(
            DynamoDbDataSystemRepository(
                self.dynamodb, self.settings.table_name, self.settings.revision_retention_days
            ),
            self.data_sources.get,
        )

    @cached_property
    def history(self) -> HistoryService:
        from datasource_registry.adapters.revisions import DynamoDbRevisionStore
        from datasource_registry.domain.history import HistoryService

        return HistoryService(DynamoDbRevisionStore(self.dynamodb, self.settings.table_name), self.data_sources)

    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        """A persistence layer per request: Powertools keeps the key prefix on it, and one container serves many."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table_name, boto3_client=self.dynamodb)

    # -- scheduled schema refresh ----------------------------------------------------------------------------
    @cached_property
    def sqs(self):  # type: ignore[no-untyped-def]
        return self.client("sqs")

    @cached_property
    def events(self):  # type: ignore[no-untyped-def]
        return self.client("events")

    @cached_property
    def schema_refresher(self) -> SchemaRefresher:
        return self.schemas  # test + discovery + snapshot, as the discover-schema endpoint does

    @property
    def refresh_sweeper(self) -> RefreshSweeper:
        from datasource_registry.adapters.queues import SqsRefreshQueue
        from datasource_registry.adapters.refresh_schedule import DynamoDbRefreshSchedule
        from datasource_registry.domain.refresh_service import RefreshSweeper

        return RefreshSweeper(
            DynamoDbRefreshSchedule(self.dynamodb, self.settings.table_name),
            SqsRefreshQueue(self.sqs, self.settings.refresh_queue_url),
            clock=self.clock,
        )

    @cached_property
    def discovery_jobs(self) -> DiscoveryJobs:
        from datasource_registry.adapters.events import EventBridgePublisher
        from datasource_registry.adapters.jobs import DynamoDbJobStore, SqsJobQueue
        from datasource_registry.domain.jobs import DiscoveryJobs

        return DiscoveryJobs(
            DynamoDbJobStore(self.dynamodb, self.settings.table_name),
            SqsJobQueue(self.sqs, self.settings.refresh_queue_url),
            self.schemas,
            EventBridgePublisher(self.events, self.settings.event_bus_name),
            self.data_sources.get,
            clock=lambda: self.clock(),  # noqa: PLW0108  # late-bound, as for the data sources
        )

    @property
    def refresh_worker(self) -> RefreshWorker:
        # Built per use (cheap), so a refresher or clock swapped in by a test or the lead's wiring is picked up.
        from datasource_registry.adapters.events import EventBridgePublisher
        from datasource_registry.domain.refresh_service import RefreshWorker

        return RefreshWorker(
            self.data_sources,
            self.schema_refresher,
            EventBridgePublisher(self.events, self.settings.event_bus_name),
            clock=self.clock,
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
