"""In-memory twins of the DynamoDB and Secrets Manager adapters, with the same guarantees, for unit tests."""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import replace
from datetime import datetime

from datasource_registry.domain.model import DataSource
from datasource_registry.domain.names import name_identity
from datasource_registry.domain.ports import DuplicateIdentity, Page, SecretRef, StaleVersion
from datasource_registry.domain.revisions import AuditEvent, AuditPage, Revision, RevisionPage


class InMemoryDataSourceRepository:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DataSource] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.names: dict[tuple[str, str], str] = {}
        self.revisions: dict[tuple[str, str, int], Revision] = {}
        self.accesses: list[tuple[str, AuditEvent]] = []
        self._lock = threading.Lock()

    def _record(self, revision: Revision | None) -> None:
        if revision is not None:
            where = (revision.tenant_id, revision.data_source_id, revision.number)
            if where in self.revisions:
                raise StaleVersion(revision.data_source_id)
            self.revisions[where] = revision

    def add(self, source: DataSource, revision: Revision | None = None) -> None:
        with self._lock:
            tenant = source.tenant_id
            if (tenant, source.key) in self.keys:
                raise DuplicateIdentity("key")
            if (tenant, name_identity(source.spec.name)) in self.names:
                raise DuplicateIdentity("name")
            self._record(revision)
            source.revision = 1
            self.records[(tenant, source.id)] = copy.deepcopy(source)
            self.keys[(tenant, source.key)] = source.id
            self.names[(tenant, name_identity(source.spec.name))] = source.id

    def get(self, tenant_id: str, data_source_id: str) -> DataSource | None:
        found = self.records.get((tenant_id, data_source_id))
        return copy.deepcopy(found) if found else None

    def find_id_by_key(self, tenant_id: str, key: str) -> str | None:
        return self.keys.get((tenant_id, key))

    def list_page(self, tenant_id: str, limit: int, after: str | None) -> Page:
        ids = sorted(i for t, i in self.records if t == tenant_id)
        remaining = [i for i in ids if after is None or i > after]
        page = [copy.deepcopy(self.records[(tenant_id, i)]) for i in remaining[:limit]]
        return Page(page, page[-1].id if len(remaining) > limit else None, len(ids))

    def replace(self, previous: DataSource, updated: DataSource, revision: Revision | None = None) -> None:
        with self._lock:
            stored = self.records.get((previous.tenant_id, previous.id))
            if stored is None or stored.revision != previous.revision:
                raise StaleVersion(previous.id)
            old_name, new_name = name_identity(previous.spec.name), name_identity(updated.spec.name)
            if old_name != new_name and (updated.tenant_id, new_name) in self.names:
                raise DuplicateIdentity("name")
            self._record(revision)
            if old_name != new_name:
                del self.names[(previous.tenant_id, old_name)]
                self.names[(updated.tenant_id, new_name)] = updated.id
            updated.revision = previous.revision + 1
            self.records[(updated.tenant_id, updated.id)] = copy.deepcopy(updated)

    def remove(self, source: DataSource, revision: Revision | None = None) -> None:
        with self._lock:
            stored = self.records.get((source.tenant_id, source.id))
            if stored is None or stored.revision != source.revision:
                raise StaleVersion(source.id)
            self._record(revision)
            del self.records[(source.tenant_id, source.id)]
            del self.keys[(source.tenant_id, stored.key)]
            del self.names[(source.tenant_id, name_identity(stored.spec.name))]

    def record_access(self, tenant_id: str, event: AuditEvent) -> None:
        self.accesses.append((tenant_id, event))

    def get_many(self, tenant_id: str, data_source_ids: list[str]) -> list[DataSource]:
        return [copy.deepcopy(self.records[(tenant_id, i)]) for i in data_source_ids if (tenant_id, i) in self.records]

    def names_starting_with(self, tenant_id: str, prefix: str) -> list[tuple[str, str]]:
        return sorted(
            (name, i)
            for (t, name), i in self.names.items()
            if t == tenant_id and name.startswith(name_identity(prefix))
        )

    def ids_of_type(self, tenant_id: str, type_name: str) -> list[str]:
        return sorted(i for (t, i), s in self.records.items() if t == tenant_id and s.spec.type == type_name)


class InMemoryRevisionStore:
    """Reads the revisions the in-memory repository recorded with its writes."""

    def __init__(self, repository: InMemoryDataSourceRepository) -> None:
        self._revisions = repository.revisions
        self._accesses = repository.accesses

    def page(self, tenant_id: str, data_source_id: str, limit: int, before: int | None) -> RevisionPage:
        numbers = sorted(
            (
                n
                for t, i, n in self._revisions
                if (t, i) == (tenant_id, data_source_id) and (before is None or n < before)
            ),
            reverse=True,
        )
        page = [self._revisions[(tenant_id, data_source_id, n)] for n in numbers[:limit]]
        return RevisionPage(page, page[-1].number if len(numbers) > limit else None)

    def get(self, tenant_id: str, data_source_id: str, number: int) -> Revision | None:
        return self._revisions.get((tenant_id, data_source_id, number))

    def secret_changes(self, tenant_id: str, data_source_id: str, after: int, upto: int) -> list[dict[str, str]]:
        return [
            revision.secret_changes
            for (t, i, n), revision in sorted(self._revisions.items())
            if (t, i) == (tenant_id, data_source_id) and after < n <= upto
        ]

    def audit(self, tenant_id: str, since: datetime | None, after: str | None, limit: int) -> AuditPage:
        events = sorted(
            (
                AuditEvent(
                    r.at,
                    r.actor,
                    r.request_id,
                    r.action,
                    r.data_source_id,
                    r.number,
                    [c.describe() for c in r.changes],
                    f"{r.at.isoformat()}#{r.data_source_id}#{r.number:010d}",
                )
                for (t, _, _), r in self._revisions.items()
                if t == tenant_id and (since is None or r.at >= since)
            ),
            key=lambda event: event.position,
        )
        reads = [
            replace(e, position=f"{e.at.isoformat()}#{e.data_source_id}#{e.revision:010d}#r{n:08x}")
            for n, (t, e) in enumerate(self._accesses)
            if t == tenant_id and (since is None or e.at >= since)
        ]
        events = sorted(events + reads, key=lambda event: event.position)
        events = [event for event in events if after is None or event.position > after]
        return AuditPage(events[:limit], events[limit - 1].position if len(events) > limit else None)


class InMemorySecretStore:
    def __init__(self) -> None:
        self.versions: dict[str, dict[str, dict[str, str]]] = {}
        self.current: dict[str, str] = {}
        self.scheduled_for_deletion: set[str] = set()
        self._ids = itertools.count(1)

    def create(self, tenant_id: str, data_source_id: str, values: dict[str, str]) -> SecretRef:
        arn = f"arn:memory:secret:{tenant_id}/{data_source_id}-{next(self._ids)}"
        self.versions[arn] = {}
        return self.add_version(arn, values)

    def add_version(self, arn: str, values: dict[str, str]) -> SecretRef:
        version = f"v{next(self._ids)}"
        self.versions[arn][version] = dict(values)
        self.current[arn] = version
        return SecretRef(arn, version)

    def revert_version(self, arn: str, restore: str, discard: str) -> None:
        if self.current.get(arn) == discard:
            self.current[arn] = restore

    def read(self, ref: SecretRef) -> dict[str, str]:
        return dict(self.versions[ref.arn][ref.version])

    def held(self, ref: SecretRef) -> dict[str, str] | None:
        found = self.versions.get(ref.arn, {}).get(ref.version)
        return dict(found) if found is not None and ref.arn not in self.scheduled_for_deletion else None

    def read_named(self, tenant_id: str, name: str) -> dict[str, str]:
        arn = next((a for a in self.versions if a.endswith(name) or a == name), None)
        if arn is None or f":{tenant_id}/" not in arn:
            raise PermissionError("not this tenant's secret")
        return dict(self.versions[arn][self.current[arn]])

    def schedule_deletion(self, arn: str) -> None:
        self.scheduled_for_deletion.add(arn)

    def restore(self, arn: str) -> None:
        self.scheduled_for_deletion.discard(arn)

    def delete_now(self, arn: str) -> None:
        self.versions.pop(arn, None)
        self.current.pop(arn, None)
