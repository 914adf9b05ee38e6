"""What goes with a deleted data source, and in which order (the rule; the stores are ports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from datasource_registry.domain.model import DataSource


class OwnedItems(Protocol):
    def delete_all(self, tenant_id: str, data_source_id: str) -> None:
        """Remove every item of this kind the source owns (a repeat removes nothing more)."""


class Links(Protocol):
    def forget_source(self, source: DataSource) -> None:
        """Drop the source from every data system that lists it."""


class DeletionCascade:
    """Run by DataSourceService.delete before the secret and the record go, so a retry finishes the job and nothing is
    ever left without its source: the schema snapshots, then the discovery jobs (and their lock), then the links
    from data systems. The configuration history and the audit trail are not the source's to take: they stay for
    their retention."""

    def __init__(self, snapshots: OwnedItems, jobs: OwnedItems, links: Callable[[], Links]) -> None:
        self._snapshots = snapshots
        self._jobs = jobs
        self._links = links  # late-bound: the data systems read sources through the service this cascade serves

    def __call__(self, source: DataSource) -> None:
        self._snapshots.delete_all(source.tenant_id, source.id)
        self._jobs.delete_all(source.tenant_id, source.id)
        self._links().forget_source(source)
