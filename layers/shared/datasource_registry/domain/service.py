"""The data source service: create, read, list, update and delete, with credentials kept in the secret store."""

from __future__ import annotations

import builtins
import logging
import re
import secrets as random_tokens
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from datasource_registry.domain.concurrency import settle
from datasource_registry.domain.credentials import secrets_out
from datasource_registry.domain.errors import (
    AlreadyExists,
    DependencyUnavailable,
    FieldError,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from datasource_registry.domain.ids import key_from_name, looks_like_id, new_data_source_id
from datasource_registry.domain.model import KEY_PATTERN, DataSource, DataSourceSpec
from datasource_registry.domain.ports import (
    DataSourceRepository,
    DuplicateIdentity,
    Page,
    SecretRef,
    SecretStore,
    StaleVersion,
)
from datasource_registry.domain.principal import CALLER, Principal
from datasource_registry.domain.refresh import awaits_check, rescheduled, schedule_changed, scheduled_refresh
from datasource_registry.domain.revisions import (
    CREATED,
    CREDENTIALS,
    RESTORED,
    UPDATED,
    Revision,
    deletion_of,
    revision_of,
    secret_read,
    spec_at,
)
from datasource_registry.domain.rules import (
    configuration_errors,
    connection_changed,
    field_errors,
    spec_from_changes,
)
from datasource_registry.domain.search import Wildcard
from datasource_registry.domain.types import DataSourceType, Role

log = logging.getLogger(__name__)

MAX_PAGE = 100
MIGRATION_SUBJECT = "registry:migration"  # updatedBy of the writes the one-off migrations make

_Undo = Callable[[], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


def merged_extensions(current: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = {name: dict(value) if isinstance(value, dict) else value for name, value in current.items()}
    for namespace, fields in changes.items():
        section = result.setdefault(namespace, {})
        for name, value in fields.items():
            if value is None:
                section.pop(name, None)
            else:
                section[name] = value
    return result


def credentials_in_force(secrets: SecretStore, source: DataSource) -> dict[str, str]:
    """The values in force: the user's own secret (002's secretManagerKey), overlaid by the registry's.

    Raises PermissionError or LookupError when a secretManagerKey may not or cannot be read.
    """
    values: dict[str, str] = {}
    if source.spec.secret_manager_key:
        values.update(secrets.read_named(source.tenant_id, source.spec.secret_manager_key))
    if source.secret_arn and source.secret_version:
        values.update(secrets.read(SecretRef(source.secret_arn, source.secret_version)))
    return values


def registry_credentials(secrets: SecretStore, source: DataSource) -> dict[str, str]:
    """Only the values in the registry's own secret: what a credential write starts from.

    The user's own secret (secretManagerKey) is never copied into the registry's, and one that is missing or
    unreadable does not stand in the way of writing the registry's.
    """
    if source.secret_arn and source.secret_version:
        return secrets.read(SecretRef(source.secret_arn, source.secret_version))
    return {}


@dataclass(frozen=True)
class CredentialChanges:
    """Credential updates: a value sets it, None removes it, an absent name is unchanged; `clear` removes all."""

    values: dict[str, str | None] = field(default_factory=dict)
    clear: bool = False

    def apply(self, current: dict[str, str]) -> dict[str, str]:
        result = {} if self.clear else dict(current)
        for name, value in self.values.items():
            if value is None:
                result.pop(name, None)
            else:
                result[name] = value
        return result

    @property
    def empty(self) -> bool:
        return not self.values and not self.clear


class DataSourceService:
    def __init__(
        self,
        repository: DataSourceRepository,
        secrets: SecretStore,
        clock: Callable[[], datetime] = utc_now,
        owned_data: Iterable[Callable[[DataSource], None]] = (),
    ) -> None:
        self._repository = repository
        self._secrets = secrets
        self._clock = clock
        self._owned_data = list(owned_data)

    # -- reads -------------------------------------------------------------------------------------------
    def owns(self, cleanup: Callable[[DataSource], None]) -> None:
        """Register a remover of data the source owns, run before the source itself is deleted."""
        self._owned_data.append(cleanup)

    def get(self, principal: Principal, reference: str) -> DataSource:
        """By id (`ds_...`) or by key; another tenant's source is simply not found."""
        source = self._find(principal.tenant_id, reference)
        if source is None:
            raise NotFound(f"Data source {reference!r} was not found.")
        return source

    def list(self, principal: Principal, limit: int, after: str | None) -> Page:
        return self._repository.list_page(principal.tenant_id, max(1, min(limit, MAX_PAGE)), after)

    def get_many(self, principal: Principal, references: builtins.list[str]) -> builtins.list[DataSource]:
        """002's by-ids: the caller's sources among the ids, in the order asked; others' ids are simply absent."""
        return self._repository.get_many(principal.tenant_id, [r for r in references if looks_like_id(r)])

    def filter(
        self,
        principal: Principal,
        names: builtins.list[Wildcard],
        types: builtins.list[Wildcard],
        skip: int,
        limit: int,
    ) -> builtins.list[DataSource]:
        """002's filter: any name pattern AND any type pattern, oldest first; reads index ranges, never the table."""
        if not names and not types:
            raise ValidationFailed(
                [FieldError("body", "give at least one of resourceNames or databaseTypes")],
                "At least one filter must be provided.",
            )
        tenant = principal.tenant_id
        matched: set[str] | None = None
        if names:
            matched = {
                source_id
                for pattern in names
                for name, source_id in self._repository.names_starting_with(tenant, pattern.seek_prefix)
                if pattern.matches(name)
            }
        if types:
            wanted = [kind for kind in DataSourceType if any(pattern.matches(kind.value) for pattern in types)]
            of_type = {source_id for kind in wanted for source_id in self._repository.ids_of_type(tenant, kind.value)}
            matched = of_type if matched is None else matched & of_type
        window = sorted(matched or ())[skip : skip + limit]  # ids sort by creation time
        return self._repository.get_many(tenant, window)

    def credentials_of(self, source: DataSource) -> dict[str, str]:
        """The values in force; the read is in the tenant's audit trail first (no read without its line), naming the
        request's caller (a test, a discovery) or the registry itself (the scheduled refresh)."""
        if (source.secret_arn and source.secret_version) or source.spec.secret_manager_key:
            self._repository.record_access(source.tenant_id, secret_read(source, CALLER.get(), self._clock()))
        return credentials_in_force(self._secrets, source)

    # -- writes ------------------------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        spec: DataSourceSpec,
        key: str | None,
        credentials: dict[str, str],
        extensions: dict[str, Any] | None = None,
    ) -> DataSource:
        principal.require_write()
        self._check(spec)
        # Secrets typed into the connection string or a document go to the secret like any credential; a value
        # given in `credentials` wins over the same one in the string.
        spec, found = secrets_out(spec)
        now = self._clock()
        source_id = new_data_source_id(int(now.timestamp() * 1000))
        values = {name: value for name, value in {**found, **credentials}.items() if value is not None}
        ref = self._secrets.create(principal.tenant_id, source_id, values) if values else None
        source = DataSource(
            id=source_id,
            tenant_id=principal.tenant_id,
            key=key or key_from_name(spec.name),
            spec=spec,
            created_at=now,
            updated_at=now,
            created_by=principal.subject,
            secret_arn=ref.arn if ref else None,
            secret_version=ref.version if ref else None,
            credential_names=sorted(values),
            extensions=extensions or {},
        )
        source.next_refresh_at = scheduled_refresh(source, now)
        try:
            self._add(principal, source, key_was_derived=key is None)
        except DependencyUnavailable:
            # The outcome is unknown (every answer was lost): what is stored decides, and a secret is discarded
            # only when its record surely is not there (an unreadable store keeps it: findable by its tags).
            if self._repository.get(source.tenant_id, source.id) is None:
                if ref:
                    self._discard_secret(ref.arn)
                raise
        except BaseException:
            if ref:
                self._discard_secret(ref.arn)
            raise
        return source

    def _add(self, principal: Principal, source: DataSource, key_was_derived: bool) -> None:
        for attempt in range(3):
            try:
                # Revision 1 is written with the record (its key may still change below, so it is built each time).
                self._repository.add(source, revision_of(None, source, principal, CREATED, source.created_at))
                return
            except StaleVersion:
                # A brand-new id is taken only if ids collide; a repeat of this very write is recognised as success
                # by the repository, so this is never our own record: refuse rather than guess.
                raise AlreadyExists(f"A data source with id {source.id!r} already exists.", field="id") from None
            except DuplicateIdentity as clash:
                if clash.field == "key" and key_was_derived and attempt < 2:
                    # A derived key may collide with another name's slug; a short suffix keeps it readable.
                    source.key = f"{key_from_name(source.spec.name)[:240]}-{random_tokens.token_hex(3)}"
                    continue
                what = "key" if clash.field == "key" else "name"
                value = source.key if clash.field == "key" else source.spec.name
                raise AlreadyExists(f"A data source with {what} {value!r} already exists.", field=clash.field) from None

    def update(
        self,
        principal: Principal,
        reference: str,
        changes: dict[str, Any],
        credentials: CredentialChanges | None = None,
        expected_version: int | None = None,
        extension_changes: dict[str, dict[str, Any]] | None = None,
    ) -> DataSource:
        """Only the given fields change; a stale expected_version is a conflict, never a lost update.

        `extension_changes` (a dialect's namespace -> its fields) merges into the record's extensions; None removes.
        A write that loses the race to the registry's own write (or, without expected_version, to anyone's) reads
        again and re-applies its changes on the latest record. The write records its revision (domain/revisions.py)
        in the same transaction.
        """
        return self._update(principal, reference, changes, credentials, expected_version, extension_changes)[0]

    def _update(
        self,
        principal: Principal,
        reference: str,
        changes: dict[str, Any],
        credentials: CredentialChanges | None,
        expected_version: int | None,
        extension_changes: dict[str, dict[str, Any]] | None,
        restored_from: int | None = None,
    ) -> tuple[DataSource, Revision]:
        """update(), answering the revision written too; `restored_from` marks a restore of that revision."""
        principal.require_write()
        credentials = credentials or CredentialChanges()

        def attempt() -> tuple[DataSource, Revision]:
            current = self.get(principal, reference)
            if expected_version is not None and expected_version != current.row_version:
                raise VersionConflict(current)
            try:
                spec = spec_from_changes(current.spec, changes)
            except ValidationError as exc:
                raise ValidationFailed(field_errors(exc)) from None
            self._check(spec)
            # Secrets in the strings move to the secret (a record written before this rule moves them now too);
            # a placeholder sent back keeps the value in force.
            spec, found = secrets_out(spec)
            updated, undo_secret, touched = self._with_credentials(
                current, CredentialChanges(values={**found, **credentials.values}, clear=credentials.clear)
            )
            reset_test = connection_changed(current.spec, spec) or updated.secret_version != current.secret_version
            updated = updated.model_copy(
                update={
                    "spec": spec,
                    "row_version": current.row_version + 1,
                    "updated_at": self._clock(),
                    "updated_by": principal.subject,
                    "extensions": merged_extensions(current.extensions, extension_changes or {}),
                    **({"last_test_ok": None} if reset_test else {}),
                }
            )
            if reset_test or schedule_changed(current.spec, spec):
                # A new schedule (or a new connection, which deserves a prompt retry) counts from now.
                updated = updated.model_copy(
                    update=rescheduled(updated, updated.updated_at, forget_failures=reset_test)
                )
            action = UPDATED if restored_from is None else RESTORED
            revision = revision_of(current, updated, principal, action, updated.updated_at, touched, restored_from)
            try:
                self._repository.replace(current, updated, revision)
                return updated, revision
            except BaseException as exc:
                if undo_secret:
                    undo_secret()
                if isinstance(exc, DuplicateIdentity):
                    raise AlreadyExists(
                        f"A data source with name {spec.name!r} already exists.", field="name"
                    ) from None
                raise  # StaleVersion: read again; a moved rowVersion is then a conflict if one was expected

        return settle(attempt, exhausted=lambda: VersionConflict(self.get(principal, reference)))

    def _with_credentials(
        self, current: DataSource, changes: CredentialChanges
    ) -> tuple[DataSource, _Undo | None, set[str]]:
        """The record with its new secret version, how to undo that secret write if the record fails, and the
        names whose value changed (the revision says "password changed", never the value)."""
        if changes.empty:
            return current, None, set()
        before = registry_credentials(self._secrets, current)
        after = changes.apply(before)
        if after == before:
            return current, None, set()
        touched = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
        undo: _Undo
        if current.secret_arn and current.secret_version:
            ref = self._secrets.add_version(current.secret_arn, after)
            arn, old = current.secret_arn, current.secret_version
            undo = lambda: self._secrets.revert_version(arn, restore=old, discard=ref.version)  # noqa: E731
        else:
            ref = self._secrets.create(current.tenant_id, current.id, after)
            undo = lambda: self._discard_secret(ref.arn)  # noqa: E731
        update = {"secret_arn": ref.arn, "secret_version": ref.version, "credential_names": sorted(after)}
        return current.model_copy(update=update), undo, touched

    def delete(self, principal: Principal, reference: str, expected_version: int | None = None) -> None:
        principal.require_write()

        def attempt() -> None:
            current = self.get(principal, reference)
            if expected_version is not None and expected_version != current.row_version:
                raise VersionConflict(current)
            # What the source owns (schema snapshots) goes first: if anything after fails, a retry finishes the job
            # and nothing is ever left without its source.
            for cleanup in self._owned_data:
                cleanup(current)
            if current.secret_arn:
                self._secrets.schedule_deletion(current.secret_arn)  # a repeat (or a concurrent delete's) is a no-op
            try:
                self._repository.remove(current, deletion_of(current, principal, self._clock()))
            except BaseException:
                if self._keep_secret(principal.tenant_id, reference, current.secret_arn):
                    raise  # the record stays, and so does its secret; StaleVersion reads again and decides again
                raise NotFound(f"Data source {reference!r} was not found.") from None  # another delete won

        settle(attempt, exhausted=lambda: VersionConflict(self.get(principal, reference)))

    def restore(
        self, principal: Principal, reference: str, revision: Revision, expected_version: int | None = None
    ) -> tuple[DataSource, Revision, builtins.list[str]]:
        """A new revision whose configuration equals `revision`'s (the record, the revision written, and the
        credentials that must be set again).

        The registry's secret comes back as it was only if Secrets Manager still holds the version the revision
        names; otherwise the credentials in force stay, and their names are answered so the user can set them.
        Data system links are relationships of the systems and are not restored.
        """
        principal.require_write()
        current = self.get(principal, reference)
        names = builtins.list(revision.configuration.get(CREDENTIALS, []))
        held = None
        if revision.secret_arn and revision.secret_version:
            held = self._secrets.held(SecretRef(revision.secret_arn, revision.secret_version))
        if held is not None or not names:
            credentials, to_set_again = CredentialChanges(values=dict(held or {}), clear=True), []
        else:
            credentials, to_set_again = CredentialChanges(), names
        wanted: dict[str, Any] = revision.configuration.get("extensions") or {}
        extension_changes = {
            namespace: {**dict.fromkeys(current.extensions.get(namespace) or {}), **(wanted.get(namespace) or {})}
            for namespace in current.extensions.keys() | wanted.keys()
        }
        restored, written = self._update(
            principal,
            current.id,
            spec_at(revision),
            credentials,
            expected_version,
            extension_changes,
            restored_from=revision.number,
        )
        return restored, written, to_set_again

    def _keep_secret(self, tenant_id: str, reference: str, arn: str | None) -> bool:
        """After a failed removal: if the record is still there, take its secret out of deletion; say if it is."""
        if self._find(tenant_id, reference) is None:
            return False
        if arn:
            self._secrets.restore(arn)
            if self._find(tenant_id, reference) is None:
                # Another delete removed the record between our look and the restore: its secret goes with it.
                self._secrets.schedule_deletion(arn)
                return False
        return True

    def move_secrets_out(self, tenant_id: str, data_source_id: str) -> bool:
        """Move the secrets a record written before strings were split still keeps inside its connection string
        or documents into its secret (the one-off migration; any later write does the same). True if it moved any.

        Raises ValidationFailed for a record whose strings cannot be split (answers show it as a placeholder).
        """
        current = self._repository.get(tenant_id, data_source_id)
        if current is None:
            return False
        spec, found = secrets_out(current.spec)
        if not found and spec == current.spec:
            return False
        self.update(Principal(MIGRATION_SUBJECT, tenant_id, Role.ADMIN), data_source_id, {})
        return True

    def apply_registry_update(
        self,
        tenant_id: str,
        data_source_id: str,
        mutate: Callable[[DataSource], dict[str, Any] | None],
        exhausted: Callable[[], Exception] | None = None,
    ) -> DataSource | None:
        """The one path of the registry's own writes (test results, refresh runs and outcomes, discovery stamps).

        `mutate` reads the latest record and says what changes (None: nothing to write); a write that loses a race
        reads again and asks again. It leaves rowVersion (and updatedAt) alone: they version the user's
        configuration, which this does not change, so a client holding the record's rowVersion can still write it
        back. It keeps the due time right: a change that ends (or starts) the wait for a first connection check
        reschedules the source, unless a run is claimed (the run reschedules it when it ends).
        Answers the record as written (or as read, when nothing changed); None if there is no such source.
        """

        def attempt() -> DataSource | None:
            current = self._repository.get(tenant_id, data_source_id)
            if current is None:
                return None
            changes = mutate(current)
            if not changes:
                return current
            updated = current.model_copy(update=changes)
            if (
                "next_refresh_at" not in changes
                and updated.refresh_claim is None
                and awaits_check(current) != awaits_check(updated)
            ):
                updated = updated.model_copy(update={"next_refresh_at": scheduled_refresh(updated, self._clock())})
            self._repository.replace(current, updated)
            return updated

        return settle(
            attempt,
            exhausted=exhausted or (lambda: DependencyUnavailable("The data source kept changing; retry the request.")),
        )

    # -- helpers -----------------------------------------------------------------------------------------
    def _find(self, tenant_id: str, reference: str) -> DataSource | None:
        if not looks_like_id(reference) and not re.fullmatch(KEY_PATTERN, reference):
            return None  # no source can have it; and a long one would be past DynamoDB's key size
        source_id = reference if looks_like_id(reference) else self._repository.find_id_by_key(tenant_id, reference)
        return self._repository.get(tenant_id, source_id) if source_id else None

    @staticmethod
    def _check(spec: DataSourceSpec) -> None:
        errors = configuration_errors(spec)
        if errors:
            raise ValidationFailed(errors)

    def _discard_secret(self, arn: str) -> None:
        try:
            self._secrets.delete_now(arn)
        except Exception as error:
            # The secret is tagged with its tenant and data source id, so an operator can find it; never its value.
            log.error(
                "could not remove an unreferenced secret", extra={"secret_arn": arn, "error_type": type(error).__name__}
            )
