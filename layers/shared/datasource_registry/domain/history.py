"""The history service: a source's revisions, a diff of two, a restore, and the tenant's audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from datasource_registry.domain.errors import FieldError, NotFound, ValidationFailed
from datasource_registry.domain.ids import looks_like_id
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.revisions import (
    MAX_DIFF_SPAN,
    AuditPage,
    Change,
    Revision,
    RevisionPage,
    RevisionStore,
    diff,
)
from datasource_registry.domain.service import MAX_PAGE, DataSourceService


@dataclass(frozen=True)
class Restored:
    source: DataSource
    revision: Revision  # the new revision the restore wrote
    credentials_to_set_again: list[str]


class HistoryService:
    """Reads go to the caller's tenant only (the store is keyed by it): another tenant's source has no history.

    A source's revisions outlive it for the retention: they are read by its id (its key went with it).
    """

    def __init__(self, revisions: RevisionStore, data_sources: DataSourceService) -> None:
        self._revisions = revisions
        self._data_sources = data_sources

    def _source_id(self, principal: Principal, reference: str) -> str:
        return reference if looks_like_id(reference) else self._data_sources.get(principal, reference).id

    def page(self, principal: Principal, reference: str, limit: int, before: int | None) -> tuple[str, RevisionPage]:
        source_id = self._source_id(principal, reference)
        page = self._revisions.page(principal.tenant_id, source_id, max(1, min(limit, MAX_PAGE)), before)
        if not page.items and before is None:
            self._data_sources.get(principal, source_id)  # no history: 404 unless the source exists (older records)
        return source_id, page

    def get(self, principal: Principal, reference: str, number: int) -> Revision:
        found = self._revisions.get(principal.tenant_id, self._source_id(principal, reference), number)
        if found is None:
            raise NotFound(f"Data source {reference!r} has no revision {number}.")
        return found

    def diff(self, principal: Principal, reference: str, old: int, new: int) -> tuple[Revision, Revision, list[Change]]:
        if old > new:
            raise ValidationFailed([FieldError("from", "must not be greater than to")])
        if new - old > MAX_DIFF_SPAN:
            raise ValidationFailed([FieldError("to", f"may be at most {MAX_DIFF_SPAN} revisions after from")])
        older, newer = self.get(principal, reference, old), self.get(principal, reference, new)
        between = self._revisions.secret_changes(principal.tenant_id, older.data_source_id, old, new)
        return older, newer, diff(older, newer, between)

    def restore(self, principal: Principal, reference: str, number: int, expected_version: int | None) -> Restored:
        principal.require_write()
        revision = self.get(principal, reference, number)
        if not revision.configuration:
            raise ValidationFailed([FieldError("n", "this revision's configuration was too large to keep")])
        source, written, to_set_again = self._data_sources.restore(
            principal, revision.data_source_id, revision, expected_version
        )
        return Restored(source, written, to_set_again)

    def audit(self, principal: Principal, since: datetime | None, after: str | None, limit: int) -> AuditPage:
        return self._revisions.audit(principal.tenant_id, since, after, max(1, min(limit, MAX_PAGE)))
