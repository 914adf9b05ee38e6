"""Data systems (000): named groups a data source is linked to; both sides of a link change in one write."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from datasource_registry.domain.concurrency import settle
from datasource_registry.domain.errors import DependencyUnavailable, NotFound
from datasource_registry.domain.ids import new_data_source_id
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.revisions import LINKED, UNLINKED, Revision, revision_of

SYSTEM_PREFIX = "sys_"


class DataSystem(BaseModel):
    """A data system: the platform a tenant's data sources belong to (000's parent of a data source)."""

    id: str
    tenant_id: str
    name: str
    description: str = ""
    row_version: int = 1
    created_at: datetime
    created_by: str
    updated_at: datetime
    child_ids: list[str] = Field(default_factory=list)
    extensions: dict[str, Any] = Field(default_factory=dict)


def looks_like_system_id(reference: str) -> bool:
    return reference.startswith(SYSTEM_PREFIX) and len(reference) == len(SYSTEM_PREFIX) + 26


# DynamoDB writes at most 100 items in one transaction: the system and up to 33 linked sources, each with its
# revision and audit line (a link changes the source's configuration: its systemIds).
ONE_TRANSACTION = 34
_Relinked = tuple[DataSource, DataSource, Revision]  # the source before, after, and the revision it writes


class DataSystemRepository(Protocol):
    def add(self, system: DataSystem) -> None: ...

    def get(self, tenant_id: str, system_id: str) -> DataSystem | None: ...

    def list_all(self, tenant_id: str) -> builtins.list[DataSystem]: ...

    def replace(self, previous: DataSystem, updated: DataSystem) -> None:
        """Write `updated` if the stored rowVersion is still `previous.row_version`. Raises StaleVersion."""

    def remove(self, system: DataSystem) -> None:
        """Delete the system if its rowVersion is unchanged. Raises StaleVersion."""

    def save_link(self, system: tuple[DataSystem, DataSystem], source: _Relinked) -> None:
        """Both (previous, updated) pairs in one all-or-nothing write, each guarded by its rowVersion; the source's
        revision in the same write."""

    def remove_unlinking(self, system: DataSystem, sources: list[_Relinked]) -> None:
        """Delete the system and write its unlinked sources in one all-or-nothing write. Raises StaleVersion."""


class DataSystemService:
    def __init__(
        self,
        repository: DataSystemRepository,
        find_source: Callable[[Principal, str], DataSource],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._find_source = find_source
        self._clock = clock

    def create(self, principal: Principal, name: str, description: str, extensions: dict[str, Any]) -> DataSystem:
        principal.require_write()
        now = self._clock()
        system = DataSystem(
            id=SYSTEM_PREFIX + new_data_source_id(int(now.timestamp() * 1000)).removeprefix("ds_"),
            tenant_id=principal.tenant_id,
            name=name,
            description=description,
            created_at=now,
            created_by=principal.subject,
            updated_at=now,
            extensions=extensions,
        )
        self._repository.add(system)
        return system

    def get(self, principal: Principal, system_id: str) -> DataSystem:
        system = self._repository.get(principal.tenant_id, system_id) if looks_like_system_id(system_id) else None
        if system is None:
            raise NotFound(f"Data system {system_id!r} was not found.")
        return system

    def list(self, principal: Principal) -> builtins.list[DataSystem]:
        return self._repository.list_all(principal.tenant_id)

    def link(self, principal: Principal, system_id: str, source_reference: str) -> DataSystem:
        """Link a source to a system (a write to both: the source's rowVersion advances once). Repeating is a no-op."""
        principal.require_write()
        return self._relink(principal, system_id, source_reference, linked=True)

    def delete(self, principal: Principal, system_id: str) -> None:
        """Remove the system and unlink its sources in one write; a failure changes nothing."""
        principal.require_write()

        def at_once() -> bool:
            system = self.get(principal, system_id)
            if len(system.child_ids) >= ONE_TRANSACTION:
                return False  # too many children for one DynamoDB transaction: unlink them step by step below
            unlinked: builtins.list[_Relinked] = []
            for child in system.child_ids:
                try:
                    source = self._find_source(principal, child)
                except NotFound:
                    continue
                if system.id in source.system_ids:
                    after = [s for s in source.system_ids if s != system.id]
                    unlinked.append(self._touched(principal, source, after))
            self._repository.remove_unlinking(system, unlinked)  # StaleVersion: a link or an edit landed, read again
            return True

        def step_by_step() -> None:
            system = self.get(principal, system_id)
            for child in system.child_ids:
                try:
                    system = self._relink(principal, system_id, child, linked=False)
                except NotFound:
                    system = self._drop_child(system, child)
            self._repository.remove(system)  # StaleVersion: a link landed meanwhile, unlink it too

        if not settle(at_once, exhausted=_kept_changing):
            settle(step_by_step, exhausted=_kept_changing)

    def forget_source(self, source: DataSource) -> None:
        """When a data source is deleted, its systems stop listing it (run by the service before the record goes)."""
        for system_id in source.system_ids:

            def drop(system_id: str = system_id) -> None:
                system = self._repository.get(source.tenant_id, system_id)
                if system is not None and source.id in system.child_ids:
                    self._drop_child(system, source.id)

            settle(drop, exhausted=_kept_changing)

    # -- helpers -----------------------------------------------------------------------------------------
    def _drop_child(self, system: DataSystem, child_id: str) -> DataSystem:
        updated = self._next(system, [c for c in system.child_ids if c != child_id])
        self._repository.replace(system, updated)
        return updated

    def _relink(self, principal: Principal, system_id: str, source_reference: str, linked: bool) -> DataSystem:
        def attempt() -> DataSystem:
            system = self.get(principal, system_id)
            source = self._find_source(principal, source_reference)
            if (source.id in system.child_ids) == linked and (system.id in source.system_ids) == linked:
                return system
            children = [c for c in system.child_ids if c != source.id] + ([source.id] if linked else [])
            parents = [s for s in source.system_ids if s != system.id] + ([system.id] if linked else [])
            updated_system = self._next(system, children)
            relinked = self._touched(principal, source, parents)
            self._repository.save_link((system, updated_system), relinked)  # StaleVersion: again
            return updated_system

        return settle(attempt, exhausted=_kept_changing)

    def _touched(self, principal: Principal, source: DataSource, parents: builtins.list[str]) -> _Relinked:
        now = self._clock()
        updated = source.model_copy(
            update={
                "system_ids": parents,
                "row_version": source.row_version + 1,
                "updated_at": now,
                "updated_by": principal.subject,
            }
        )
        action = LINKED if len(parents) > len(source.system_ids) else UNLINKED
        return source, updated, revision_of(source, updated, principal, action, now)

    def _next(self, system: DataSystem, children: builtins.list[str]) -> DataSystem:
        return system.model_copy(
            update={"child_ids": children, "row_version": system.row_version + 1, "updated_at": self._clock()}
        )


def _kept_changing() -> Exception:
    return DependencyUnavailable("The data system kept changing concurrently; retry.")
