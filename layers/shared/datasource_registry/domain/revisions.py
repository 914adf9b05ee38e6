"""Configuration history: the immutable revision each configuration change writes, and the tenant's audit trail.

A revision holds the whole configuration as the views show it (connection strings and documents redacted by
`shown_texts`) and the changed fields with before and after; a credential appears only by name with what
happened to it ("added", "changed", "removed"), never with a value. Revision n is the source's rowVersion n: the
user's writes advance both together, in one transaction (adapters/dynamodb.py), so there is no change without
its revision and no revision without its change. The registry's own writes (test results, refresh outcomes,
claims) change no configuration and write none.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic.alias_generators import to_camel

from datasource_registry.domain.credentials import shown_texts
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.principal import Principal

CREATED, UPDATED, RESTORED, DELETED, LINKED, UNLINKED = (
    "created",
    "updated",
    "restored",
    "deleted",
    "linked",
    "unlinked",
)
SECRET_READ = "secret-read"  # noqa: S105  # an action's name. An audit event only: the registry read a source's credentials (test, discovery, refresh)
REGISTRY = "registry"  # the actor of reads outside a request: the scheduled refresh
CREDENTIALS = "credentials"  # the configuration's list of credential names (values live in the secret only)
MAX_DIFF_SPAN = 1000  # revisions a diff may span: it reads their credential changes


@dataclass(frozen=True)
class Change:
    """One changed field: before and after as shown; a credential only says what happened to it (`credential`)."""

    field: str
    before: Any = None
    after: Any = None
    credential: str | None = None  # "added" | "changed" | "removed" for a credential; then before/after stay None

    def to_json(self) -> dict[str, Any]:
        if self.credential is not None:
            return {"field": self.field, "credential": self.credential}
        return {"field": self.field, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(str(data["field"]), data.get("before"), data.get("after"), data.get("credential"))

    def describe(self) -> str:
        """`password changed`, `port changed`: what the audit trail says, never a value."""
        return f"{self.field} {self.credential or 'changed'}"


@dataclass(frozen=True)
class Revision:
    tenant_id: str
    data_source_id: str
    number: int
    action: str
    actor: str
    request_id: str | None
    at: datetime
    configuration: dict[str, Any]
    changes: tuple[Change, ...] = ()
    secret_arn: str | None = None
    secret_version: str | None = None  # the registry secret's VersionId in force: a restore reads it back
    restored_from: int | None = None

    @property
    def secret_changes(self) -> dict[str, str]:
        return {c.field.removeprefix(f"{CREDENTIALS}."): c.credential for c in self.changes if c.credential is not None}


@dataclass(frozen=True)
class RevisionPage:
    items: list[Revision]
    next_before: int | None  # the page after this one starts below this number


@dataclass(frozen=True)
class AuditEvent:
    """One write in the tenant's audit trail: who, when, under which request, to which source, what (names only)."""

    at: datetime
    actor: str
    request_id: str | None
    action: str
    data_source_id: str
    revision: int
    fields: list[str] = field(default_factory=list)
    position: str = ""  # where the next page starts (the store's own order)


def secret_read(source: DataSource, caller: Principal | None, at: datetime) -> AuditEvent:
    """The audit event of the registry reading a source's credentials for `caller` (None: its own schedule)."""
    where = [f"{CREDENTIALS}.{name} read" for name in source.credential_names]
    if source.spec.secret_manager_key:
        where.append("secretManagerKey read")
    return AuditEvent(
        at=at,
        actor=caller.subject if caller is not None else REGISTRY,
        request_id=caller.request_id if caller is not None else None,
        action=SECRET_READ,
        data_source_id=source.id,
        revision=source.row_version,
        fields=where,
    )


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_after: str | None


class RevisionStore(Protocol):
    """Reads of revisions and audit events; they are written by the data source repository, with the change."""

    def page(self, tenant_id: str, data_source_id: str, limit: int, before: int | None) -> RevisionPage:
        """Newest first; `before` is the number the previous page ended above."""

    def get(self, tenant_id: str, data_source_id: str, number: int) -> Revision | None: ...

    def secret_changes(self, tenant_id: str, data_source_id: str, after: int, upto: int) -> list[dict[str, str]]:
        """The credential changes (name -> what happened) of revisions after..upto, oldest first."""

    def audit(self, tenant_id: str, since: datetime | None, after: str | None, limit: int) -> AuditPage:
        """The tenant's writes, oldest first, from `since`; `after` is the previous page's position."""


# -- building a revision ---------------------------------------------------------------------------------------
def configuration_of(source: DataSource) -> dict[str, Any]:
    """The configuration as every answer shows it: spec (secrets in strings and documents redacted), key,
    credential names, dialect extensions and data system links."""
    spec = source.spec.model_dump(mode="json", by_alias=True)
    shown = shown_texts(source)
    spec.update(
        connectionString=shown["connection_string"], sourceConfig=shown["source_config"], metadata=shown["metadata"]
    )
    return {
        "key": source.key,
        **spec,
        CREDENTIALS: sorted(source.credential_names),
        "extensions": source.extensions,
        "systemIds": list(source.system_ids),
    }


def credential_changes(before: Collection[str], after: Collection[str], touched: Collection[str]) -> list[Change]:
    """Names only: added, removed, or changed (a name in both whose value the write replaced)."""
    changes = [Change(f"{CREDENTIALS}.{name}", credential="added") for name in sorted(set(after) - set(before))]
    changes += [Change(f"{CREDENTIALS}.{name}", credential="removed") for name in sorted(set(before) - set(after))]
    changes += [
        Change(f"{CREDENTIALS}.{name}", credential="changed")
        for name in sorted(set(before) & set(after) & set(touched))
    ]
    return sorted(changes, key=lambda change: change.field)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Top-level fields that differ (credentials apart: they are compared by name, never by value)."""
    names = sorted((set(before) | set(after)) - {CREDENTIALS})
    return [Change(name, before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)]


def revision_of(
    before: DataSource | None,
    after: DataSource,
    principal: Principal,
    action: str,
    at: datetime,
    touched: Collection[str] = (),
    restored_from: int | None = None,
) -> Revision:
    """The revision `after` makes (its number is after's rowVersion); `touched`: credentials whose value changed."""
    old = configuration_of(before) if before is not None else {}
    new = configuration_of(after)
    old_names = old.get(CREDENTIALS, [])
    changes = sorted(field_changes(old, new) + credential_changes(old_names, new[CREDENTIALS], touched), key=_by_field)
    return Revision(
        tenant_id=after.tenant_id,
        data_source_id=after.id,
        number=after.row_version,
        action=action,
        actor=principal.subject,
        request_id=principal.request_id,
        at=at,
        configuration=new,
        changes=tuple(changes),
        secret_arn=after.secret_arn,
        secret_version=after.secret_version,
        restored_from=restored_from,
    )


def deletion_of(source: DataSource, principal: Principal, at: datetime) -> Revision:
    """The last revision of a deleted source: its configuration as it was, so the history ends where it ended."""
    return Revision(
        tenant_id=source.tenant_id,
        data_source_id=source.id,
        number=source.row_version + 1,
        action=DELETED,
        actor=principal.subject,
        request_id=principal.request_id,
        at=at,
        configuration=configuration_of(source),
        secret_arn=source.secret_arn,
        secret_version=source.secret_version,
    )


def diff(older: Revision, newer: Revision, secret_changes: list[dict[str, str]]) -> list[Change]:
    """What differs between two revisions; a credential counts as changed if any revision between changed it."""
    touched = {name for changes in secret_changes for name, what in changes.items() if what != "removed"}
    old, new = older.configuration, newer.configuration
    changes = field_changes(old, new) + credential_changes(old.get(CREDENTIALS, []), new.get(CREDENTIALS, []), touched)
    return sorted(changes, key=_by_field)


def _by_field(change: Change) -> str:
    return change.field


def spec_at(revision: Revision) -> dict[str, Any]:
    """The spec fields of the configuration a revision holds, as the write path's changes (snake_case names)."""
    return {
        name: revision.configuration[to_camel(name)]
        for name in DataSourceSpec.model_fields
        if to_camel(name) in revision.configuration
    }
