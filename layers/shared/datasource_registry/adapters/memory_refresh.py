"""In-memory twins of the refresh index, queue, event bus and schema refresher, for unit and handler tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datasource_registry.adapters.memory import InMemoryDataSourceRepository
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.ports import DueRefresh, RefreshOutcome, RefreshRequest
from datasource_registry.domain.refresh import due_shard


def _marker(source: DataSource) -> str:
    assert source.next_refresh_at is not None
    return f"{source.next_refresh_at.isoformat()}#{source.tenant_id}#{source.id}"


class InMemoryRefreshSchedule:
    """The due index derived from the in-memory records, with the same claim condition as DynamoDB's."""

    def __init__(self, repository: InMemoryDataSourceRepository, shards: int) -> None:
        self._repository = repository
        self._shards = shards
        self._lock = threading.Lock()
        self.items_read = 0

    def due(self, shard: int, now: datetime) -> Iterator[DueRefresh]:
        entries = [
            source
            for source in list(self._repository.records.values())
            if source.next_refresh_at is not None
            and source.next_refresh_at <= now
            and due_shard(source.id, self._shards) == shard
        ]
        for source in sorted(entries, key=lambda s: (s.next_refresh_at, s.id)):
            assert source.next_refresh_at is not None
            self.items_read += 1
            yield DueRefresh(source.tenant_id, source.id, source.next_refresh_at, _marker(source))

    def claim(self, due: DueRefresh, lease_until: datetime, token: str) -> bool:
        with self._lock:
            key = (due.tenant_id, due.data_source_id)
            stored = self._repository.records.get(key)
            if stored is None or stored.next_refresh_at is None or _marker(stored) != due.marker:
                return False
            self._repository.records[key] = stored.model_copy(
                update={"next_refresh_at": lease_until, "refresh_claim": token, "revision": stored.revision + 1}
            )
            return True


@dataclass
class InMemoryRefreshQueue:
    batch_size: int = 10
    messages: list[RefreshRequest] = field(default_factory=list)
    batches: int = 0

    def send(self, requests: list[RefreshRequest]) -> int:
        sent = (len(requests) + self.batch_size - 1) // self.batch_size
        self.messages.extend(requests)
        self.batches += sent
        return sent


@dataclass
class InMemoryEventPublisher:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, dict(detail)))


class FakeSchemaRefresher:
    """Answers each refresh with a scripted outcome (by data source key, else the default) and records calls."""

    def __init__(self, default: RefreshOutcome | None = None) -> None:
        self.default = default or RefreshOutcome(ok=True, changed=False, version=1, healthy=True)
        self.outcomes: dict[str, RefreshOutcome | Callable[[DataSource], RefreshOutcome]] = {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.checks: list[tuple[str, str, dict[str, str]]] = []  # first connection checks (no discovery)
        self._lock = threading.Lock()

    def script(self, key: str, outcome: RefreshOutcome | Callable[[DataSource], RefreshOutcome]) -> None:
        self.outcomes[key] = outcome

    def refresh(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        with self._lock:
            self.calls.append((source.tenant_id, source.key, dict(credentials)))
        scripted = self.outcomes.get(source.key, self.default)
        return scripted(source) if callable(scripted) else scripted

    def check(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        """A first check answers the scripted outcome's connection part (nothing is discovered)."""
        with self._lock:
            self.checks.append((source.tenant_id, source.key, dict(credentials)))
        scripted = self.outcomes.get(source.key, self.default)
        outcome = scripted(source) if callable(scripted) else scripted
        return RefreshOutcome(
            ok=outcome.healthy,
            error_code=None if outcome.healthy else outcome.error_code,
            error=None if outcome.healthy else outcome.error,
            healthy=outcome.healthy,
            checked_only=True,
        )

    def refreshed(self, tenant_id: str) -> list[str]:
        """Keys of the tenant's sources refreshed so far, in call order."""
        return [key for tenant, key, _ in self.calls if tenant == tenant_id]
