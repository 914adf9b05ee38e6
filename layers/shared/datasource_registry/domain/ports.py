"""The interfaces the domain needs from the outside world: storage of data sources and of their secrets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from datasource_registry.domain.model import DataSource

if TYPE_CHECKING:
    # Only in signatures: importing the connector package here would cost every handler's cold start.
    from datasource_registry.connectors.result import ConnectionTestResult
    from datasource_registry.connectors.target import ConnectionTarget
    from datasource_registry.discovered import DiscoveredSchema
    from datasource_registry.domain.revisions import AuditEvent, Revision


class StaleVersion(Exception):
    """The stored rowVersion is not the one the write expected (or the record is gone)."""


class SecretBeingDeleted(StaleVersion, LookupError):
    """The source's secret is scheduled for deletion: a delete of the source is under way (or just lost a race).

    A writer reads again (the delete's outcome decides); a reader finds the credentials unavailable.
    """


class DuplicateIdentity(Exception):
    """Another data source in the tenant already has this key or name."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Page:
    items: list[DataSource]
    next_after: str | None
    total: int


class DataSourceRepository(Protocol):
    def add(self, source: DataSource, revision: Revision | None = None) -> None:
        """Store a new source with its key and name markers (and its first revision), all or nothing.

        Raises DuplicateIdentity."""

    def get(self, tenant_id: str, data_source_id: str) -> DataSource | None: ...

    def find_id_by_key(self, tenant_id: str, key: str) -> str | None: ...

    def list_page(self, tenant_id: str, limit: int, after: str | None) -> Page: ...

    def replace(self, previous: DataSource, updated: DataSource, revision: Revision | None = None) -> None:
        """Write `updated` (with `revision`, the configuration change it records, in the same write) if the stored
        record is still `previous`. Raises StaleVersion. The registry's own writes pass no revision."""

    def remove(self, source: DataSource, revision: Revision | None = None) -> None:
        """Delete the source and its markers (writing its last revision) if it is unchanged. Raises StaleVersion."""

    def get_many(self, tenant_id: str, data_source_ids: list[str]) -> list[DataSource]:
        """The tenant's sources among `data_source_ids`, in the order asked; unknown ids are left out."""

    def record_access(self, tenant_id: str, event: AuditEvent) -> None:
        """Add a line to the tenant's audit trail that records no change (the registry read a secret), once."""

    def names_starting_with(self, tenant_id: str, prefix: str) -> list[tuple[str, str]]:
        """(case-folded name, id) of the tenant's sources whose case-folded name starts with `prefix`."""

    def ids_of_type(self, tenant_id: str, type_name: str) -> list[str]:
        """Ids of the tenant's sources of one data source type."""


@dataclass(frozen=True)
class SecretRef:
    arn: str
    version: str


class SecretStore(Protocol):
    def create(self, tenant_id: str, data_source_id: str, values: dict[str, str]) -> SecretRef: ...

    def add_version(self, arn: str, values: dict[str, str]) -> SecretRef:
        """A new current version; the data source record names the version it uses, so readers never race."""

    def revert_version(self, arn: str, restore: str, discard: str) -> None:
        """Make `restore` current again after the record that would have used `discard` failed to commit."""

    def read(self, ref: SecretRef) -> dict[str, str]: ...

    def held(self, ref: SecretRef) -> dict[str, str] | None:
        """The values of that version if the store still holds it (a restore's question); None if it is gone."""

    def read_named(self, tenant_id: str, name: str) -> dict[str, str]:
        """A secret the user manages (002's secretManagerKey). Raises PermissionError for another tenant's."""

    def schedule_deletion(self, arn: str) -> None:
        """Delete with the recovery window, so a mistaken delete can still be undone."""

    def restore(self, arn: str) -> None: ...

    def delete_now(self, arn: str) -> None:
        """Remove a secret that no record ever referenced (compensation of a failed create)."""


@dataclass(frozen=True)
class SnapshotMeta:
    """One stored version of a data source's schema; the tables live in compressed chunks beside it."""

    version: int
    fingerprint: str
    discovered_at: datetime
    table_count: int
    estimated_rows: int | None
    chunk_starts: tuple[int, ...]  # index of the first table in each chunk
    write_id: str


class SnapshotStore(Protocol):
    def latest(self, tenant_id: str, data_source_id: str) -> SnapshotMeta | None: ...

    def meta(self, tenant_id: str, data_source_id: str, version: int) -> SnapshotMeta | None: ...

    def save(
        self, tenant_id: str, data_source_id: str, meta: SnapshotMeta, tables: list[dict[str, Any]]
    ) -> SnapshotMeta:
        """Store chunks, then the meta as the commit point (returned with its chunk layout).

        Raises StaleVersion if the version exists.
        """

    def tables(
        self, tenant_id: str, data_source_id: str, meta: SnapshotMeta, offset: int, limit: int
    ) -> list[dict[str, Any]]: ...

    def delete_all(self, tenant_id: str, data_source_id: str) -> None: ...


class ConnectorGateway(Protocol):
    """Reaches the user's systems with their own drivers, inside the network policy."""

    def check(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> ConnectionTestResult: ...

    def discover(
        self, target: ConnectionTarget, credentials: dict[str, str], deadline_seconds: float
    ) -> DiscoveredSchema:
        """Raises ConnectorError with a stable code and a message free of secrets."""


# -- scheduled schema refresh -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefreshOutcome:
    """What one schema refresh found. `error` is already free of secrets; `healthy` is the connection's health."""

    ok: bool
    changed: bool = False
    version: int | None = None
    diff_summary: dict[str, Any] | None = None
    # Severity counts, the first changes and the path of the full diff (domain/drift.py's notice), for the event.
    drift: dict[str, Any] | None = None
    error_code: str | None = None
    error: str | None = None
    healthy: bool = True
    checked_only: bool = False  # a first connection check: nothing was discovered


class SchemaRefresher(Protocol):
    def refresh(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        """Test the connection, discover the schema and store a snapshot; failures are outcomes, not exceptions."""

    def check(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        """Test the connection only (a first check, `checked_only`); failures are outcomes, not exceptions."""


@dataclass(frozen=True)
class DueRefresh:
    """One entry of the "refresh due" index: which source, when it was due, and the index value to claim on."""

    tenant_id: str
    data_source_id: str
    due_at: datetime
    marker: str


class RefreshSchedule(Protocol):
    """The sparse index of sources whose schema refresh is scheduled."""

    def due(self, shard: int, now: datetime) -> Iterator[DueRefresh]:
        """Entries of `shard` due at or before `now`, earliest first; reads nothing that is not due."""

    def claim(self, due: DueRefresh, lease_until: datetime, token: str) -> bool:
        """Move the entry to `lease_until` and stamp `token`, only if it still reads `due.marker`."""


@dataclass(frozen=True)
class RefreshRequest:
    """The queue message: which source to refresh under which claim. Carries no configuration and no secret."""

    tenant_id: str
    data_source_id: str
    claim: str


class RefreshQueue(Protocol):
    def send(self, requests: list[RefreshRequest]) -> int:
        """Enqueue the requests (in batches); returns how many batches were sent. Raises if any was refused."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Put one event on the registry's bus. Raises if the bus refused it."""
