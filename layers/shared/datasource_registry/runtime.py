"""Per-container wiring: settings validated on first use, AWS clients and services created lazily, injectable."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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

    from datasource_registry.domain.cascade import DeletionCascade
    from datasource_registry.domain.history import HistoryService
    from datasource_registry.domain.jobs import DiscoveryJobs
    from datasource_registry.domain.ports import ConnectorGateway, EventPublisher, SchemaRefresher
    from datasource_registry.domain.refresh_service import RefreshSweeper, RefreshWorker
    from datasource_registry.domain.schema_service import SchemaService
    from datasource_registry.domain.systems import DataSystemService


class MissingSetting(RuntimeError):
    """A function runs without a setting its code needs: a deployment error, reported at cold start."""


class Settings(BaseModel):
    """The environment a handler runs with (template.yaml), validated at cold start: no silent defaults.

    The Globals every function has are required. The others only some functions have are None until set; code reads
    them through `need`, and each handler declares the ones it needs with `cold_start`, so a function deployed without
    one fails to start, naming it, instead of publishing to the default bus or sending to no queue.
    """

    model_config = ConfigDict(defer_build=True)

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=3)]
    secret_prefix: Annotated[str, Field(alias="SECRET_PREFIX", min_length=1)]
    secret_recovery_days: Annotated[int, Field(alias="SECRET_RECOVERY_DAYS", ge=7, le=30)]
    allowed_cidrs: Annotated[str, Field(alias="ALLOWED_CIDRS")]  # may be empty: no private network allowed
    lend_function_role: Annotated[bool, Field(alias="ALLOW_FUNCTION_ROLE_FOR_AWS")]
    refresh_queue_url: Annotated[str | None, Field(alias="REFRESH_QUEUE_URL", min_length=1)] = None
    event_bus_name: Annotated[str | None, Field(alias="EVENT_BUS_NAME", min_length=1)] = None
    idempotency_table_name: Annotated[str | None, Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)] = None
    # family=function,... of the connector runners, or `in-process` (unit tests and benchmarks only).
    connector_runners: Annotated[str | None, Field(alias="CONNECTOR_RUNNERS", min_length=1)] = None
    # How long revisions and audit events are kept (DynamoDB TTL; template.yaml's RevisionRetentionDays).
    revision_retention_days: Annotated[int, Field(alias="REVISION_RETENTION_DAYS", ge=1, le=3650)]

    @classmethod
    def from_environment(cls) -> Settings:
        # An empty value is no value (the runners' template blanks the Globals they have no use for).
        return cls.model_validate({k: v for k, v in os.environ.items() if v != "" or k == "ALLOWED_CIDRS"})

    def need(self, alias: str) -> str:
        """The value of an optional setting this function needs (its `cold_start` named it)."""
        field = OPTIONAL_SETTINGS[alias]
        value = getattr(self, field)
        if not value:
            raise MissingSetting(f"{alias} is not set for this function (template.yaml, its Environment)")
        return str(value)


OPTIONAL_SETTINGS = {
    info.alias: name for name, info in Settings.model_fields.items() if info.alias and not info.is_required()
}
_NEEDED: set[str] = set()


def cold_start(*needs: str) -> None:
    """A handler module's declaration of the optional settings its code reads, checked when the container starts.

    In Lambda (and the built-artifact emulation) the handler is imported at init, so a missing or invalid setting
    fails the init, naming it. The local server imports handlers lazily into one process: there the check runs
    when the services are first built, for every handler imported so far.
    """
    unknown = set(needs) - OPTIONAL_SETTINGS.keys()
    if unknown:
        raise ValueError(f"not optional settings: {sorted(unknown)}")
    _NEEDED.update(needs)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        check(services().settings, needs)


def check(settings: Settings, needs: Iterable[str]) -> None:
    for alias in sorted(needs):
        settings.need(alias)


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
        service.owns(lambda source: self.deletion_cascade(source))  # noqa: PLW0108  # late: built on first delete
        return service

    @cached_property
    def deletion_cascade(self) -> DeletionCascade:
        """Built on the first delete: the other requests import no job, snapshot or cascade code."""
        from datasource_registry.adapters.jobs import DynamoDbJobStore
        from datasource_registry.adapters.snapshots import DynamoDbSnapshotStore
        from datasource_registry.domain.cascade import DeletionCascade

        return DeletionCascade(
            DynamoDbSnapshotStore(self.dynamodb, self.settings.table_name),
            DynamoDbJobStore(self.dynamodb, self.settings.table_name),
            lambda: self.data_systems,
        )

    @cached_property
    def schemas(self) -> SchemaService:
        from datasource_registry.adapters.connectors import LibraryConnectorGateway
        from datasource_registry.adapters.snapshots import DynamoDbSnapshotStore
        from datasource_registry.connectors.network import NetworkPolicy
        from datasource_registry.domain.schema_service import SchemaService

        def gateway() -> ConnectorGateway:
            runners = self.settings.need("CONNECTOR_RUNNERS")
            if runners == "in-process":
                return LibraryConnectorGateway(
                    NetworkPolicy.from_string(self.settings.allowed_cidrs),
                    os.environ.get("AWS_ENDPOINT_URL") or None,
                    self.settings.lend_function_role,
                )
            from datasource_registry.adapters.runners import RunnerConnectorGateway
            from datasource_registry.runner import parse_runner_names

            return RunnerConnectorGateway(
                self.runner_client,
                parse_runner_names(runners),
                self.settings.allowed_cidrs,
                os.environ.get("AWS_ENDPOINT_URL") or None,
                self.settings.lend_function_role,
            )

        # Built on first use: reading snapshots, diffs and jobs needs no connector (nor CONNECTOR_RUNNERS).
        return SchemaService(
            self.data_sources,
            DynamoDbSnapshotStore(self.dynamodb, self.settings.table_name),
            cast("ConnectorGateway", _OnFirstUse(gateway)),
        )

    def runner_client(self, read_timeout: float):  # type: ignore[no-untyped-def]
        """A Lambda client that waits read_timeout for a runner's answer and never retries an invoke (one per
        timeout, kept for the container): a retried connection test would run the driver twice."""
        if read_timeout not in self._runner_clients:
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3, read_timeout=read_timeout
            )
            # No CLIENT_HOOKS: an invoke touches none of the registry's state; when it fails, the runner failed, and
            # the gateway answers that as the call's own failure (a failed test), never as a 503.
            self._runner_clients[read_timeout] = self.aws("lambda", config=config)
        return self._runner_clients[read_timeout]

    @cached_property
    def _runner_clients(self) -> dict[float, Any]:
        return {}

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

        return DynamoDBPersistenceLayer(
            table_name=self.settings.need("IDEMPOTENCY_TABLE_NAME"), boto3_client=self.dynamodb
        )

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
            SqsRefreshQueue(self.sqs, self.settings.need("REFRESH_QUEUE_URL")),
            clock=self.clock,
        )

    @cached_property
    def discovery_jobs(self) -> DiscoveryJobs:
        from datasource_registry.adapters.events import EventBridgePublisher
        from datasource_registry.adapters.jobs import DynamoDbJobStore, SqsJobQueue
        from datasource_registry.domain.jobs import DiscoveryJobs

        return DiscoveryJobs(
            DynamoDbJobStore(self.dynamodb, self.settings.table_name),
            SqsJobQueue(self.sqs, lambda: self.settings.need("REFRESH_QUEUE_URL")),
            self.schemas,
            # Built on first publish: reading jobs publishes nothing (nor needs EVENT_BUS_NAME).
            cast(
                "EventPublisher",
                _OnFirstUse(lambda: EventBridgePublisher(self.events, self.settings.need("EVENT_BUS_NAME"))),
            ),
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
            EventBridgePublisher(self.events, self.settings.need("EVENT_BUS_NAME")),
            clock=self.clock,
        )


_services: Services | None = None


def services() -> Services:
    global _services  # noqa: PLW0603  # one container-wide instance, created on first use
    if _services is None:
        settings = Settings.from_environment()
        check(settings, _NEEDED)
        _services = Services(settings)
    return _services


def use_services(replacement: Services | None) -> None:
    """Tests and the local server inject their own wiring (or None to rebuild from the environment)."""
    global _services  # noqa: PLW0603
    _services = replacement
