"""In-memory twins of the DynamoDB and Secrets Manager adapters, with the same guarantees, for unit tests."""

from __future__ import annotations

import copy
import itertools
import threading

from datasource_registry.domain.model import DataSource
from datasource_registry.domain.names import name_identity
from datasource_registry.domain.ports import DuplicateIdentity, Page, SecretRef, StaleVersion


class InMemoryDataSourceRepository:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DataSource] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.names: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def add(self, source: DataSource) -> None:
        with self._lock:
            tenant = source.tenant_id
            if (tenant, source.key) in self.keys:
                raise DuplicateIdentity("key")
            if (tenant, name_identity(source.spec.name)) in self.names:
                raise DuplicateIdentity("name")
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

    def replace(self, previous: DataSource, updated: DataSource) -> None:
        with self._lock:
            stored = self.records.get((previous.tenant_id, previous.id))
            if stored is None or stored.revision != previous.revision:
                raise StaleVersion(previous.id)
            old_name, new_name = name_identity(previous.spec.name), name_identity(updated.spec.name)
            if old_name != new_name:
                if (updated.tenant_id, new_name) in self.names:
                    raise DuplicateIdentity("name")
                del self.names[(previous.tenant_id, old_name)]
                self.names[(updated.tenant_id, new_name)] = updated.id
            updated.revision = previous.revision + 1
            self.records[(updated.tenant_id, updated.id)] = copy.deepcopy(updated)

    def remove(self, source: DataSource) -> None:
        with self._lock:
            stored = self.records.get((source.tenant_id, source.id))
            if stored is None or stored.revision != source.revision:
                raise StaleVersion(source.id)
            del self.records[(source.tenant_id, source.id)]
            del self.keys[(source.tenant_id, stored.key)]
            del self.names[(source.tenant_id, name_identity(stored.spec.name))]

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
