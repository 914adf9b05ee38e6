"""Configuration history in the domain: revisions built by the write path, restore with and without the secret."""

from __future__ import annotations

import pytest

from datasource_registry.adapters.memory import (
    InMemoryDataSourceRepository,
    InMemoryRevisionStore,
    InMemorySecretStore,
)
from datasource_registry.domain.errors import NotFound, ValidationFailed, VersionConflict
from datasource_registry.domain.history import HistoryService
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.principal import CALLER, Principal
from datasource_registry.domain.service import CredentialChanges, DataSourceService
from datasource_registry.domain.types import Role

EDITOR = Principal("alice", "t1", Role.EDITOR, request_id="req-1")
OTHER = Principal("mallory", "t2", Role.ADMIN)


def spec(**extra) -> DataSourceSpec:
    return DataSourceSpec.model_validate(
        {"name": "Warehouse", "type": "postgresql", "host": "db", "port": 5432, "databaseName": "wh", **extra}
    )


@pytest.fixture
def parts():
    repo, secrets = InMemoryDataSourceRepository(), InMemorySecretStore()
    service = DataSourceService(repo, secrets)
    return repo, secrets, service, HistoryService(InMemoryRevisionStore(repo), service)


def test_each_user_write_is_one_revision_numbered_as_its_row_version_and_system_writes_add_none(parts):
    repo, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "pw-first-7"})
    service.update(EDITOR, source.id, {"port": 6543}, CredentialChanges({"password": "pw-second-7"}))
    service.apply_registry_update("t1", source.id, lambda current: {"failure_count": 3})

    _, page = history.page(EDITOR, source.id, 10, None)

    assert [(r.number, r.action, r.actor, r.request_id) for r in page.items] == [
        (2, "updated", "alice", "req-1"),
        (1, "created", "alice", "req-1"),
    ]
    assert [c.describe() for c in page.items[0].changes] == ["credentials.password changed", "port changed"]
    assert "pw-first-7" not in repr(repo.revisions) and "pw-second-7" not in repr(repo.revisions)


def test_a_rewritten_value_that_is_the_same_is_no_credential_change(parts):
    _, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "same"})
    service.update(EDITOR, source.id, {"description": "x"}, CredentialChanges({"password": "same"}))

    assert [c.field for c in history.get(EDITOR, source.id, 2).changes] == ["description"]


def test_restore_brings_back_the_held_secret_version(parts):
    _, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "one"})
    service.update(EDITOR, source.id, {"host": "db2"}, CredentialChanges({"password": "two", "username": "u"}))

    restored = history.restore(EDITOR, source.id, 1, expected_version=2)

    assert restored.credentials_to_set_again == []
    assert (restored.source.spec.host, restored.source.row_version, restored.revision.restored_from) == ("db", 3, 1)
    assert service.credentials_of(restored.source) == {"password": "one"}
    assert {c.describe() for c in restored.revision.changes} == {
        "credentials.password changed",
        "credentials.username removed",
        "host changed",
    }


def test_restore_when_the_secret_version_is_gone_keeps_the_credentials_in_force_and_names_them(parts):
    _, secrets, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "one"})
    service.update(EDITOR, source.id, {"host": "db2"}, CredentialChanges({"password": "two"}))
    del secrets.versions[source.secret_arn][source.secret_version]  # Secrets Manager dropped that version

    restored = history.restore(EDITOR, source.id, 1, expected_version=None)

    assert restored.credentials_to_set_again == ["password"]
    assert restored.source.spec.host == "db"
    assert service.credentials_of(restored.source) == {"password": "two"}


def test_restore_honours_the_expected_row_version_and_writes_nothing_when_stale(parts):
    repo, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {})
    service.update(EDITOR, source.id, {"host": "db2"})

    with pytest.raises(VersionConflict):
        history.restore(EDITOR, source.id, 1, expected_version=1)
    assert sorted(n for _, _, n in repo.revisions) == [1, 2]


def test_another_tenant_sees_no_history_and_a_diff_must_run_forwards(parts):
    _, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {})

    with pytest.raises(NotFound):
        history.page(OTHER, source.id, 10, None)
    with pytest.raises(NotFound):
        history.get(OTHER, source.id, 1)
    assert history.audit(OTHER, None, None, 10).items == []
    with pytest.raises(ValidationFailed):
        history.diff(EDITOR, source.id, 2, 1)


def test_a_secret_read_outside_a_request_is_the_registry_s_and_inside_one_the_caller_s(parts):
    repo, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "p"})

    service.credentials_of(source)  # the scheduled refresh: no request
    token = CALLER.set(EDITOR)
    try:
        service.credentials_of(source)  # a connection test
    finally:
        CALLER.reset(token)

    reads = [e for e in history.audit(EDITOR, None, None, 10).items if e.action == "secret-read"]
    assert [(e.actor, e.request_id, e.fields) for e in reads] == [
        ("registry", None, ["credentials.password read"]),
        ("alice", "req-1", ["credentials.password read"]),
    ]
    assert len(repo.accesses) == 2


def test_a_deleted_source_ends_its_history_with_a_deleted_revision(parts):
    _, _, service, history = parts
    source = service.create(EDITOR, spec(), None, {"password": "p"})
    service.delete(EDITOR, source.id)

    _, page = history.page(EDITOR, source.id, 10, None)

    assert [(r.number, r.action) for r in page.items] == [(2, "deleted"), (1, "created")]
    assert [e.action for e in history.audit(EDITOR, None, None, 10).items] == ["created", "deleted"]
