"""The data source service on in-memory storage: rules, credentials and the no-half-writes promises."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from datasource_registry.adapters.memory import InMemoryDataSourceRepository, InMemorySecretStore
from datasource_registry.domain.errors import (
    AlreadyExists,
    Forbidden,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.rules import health_of
from datasource_registry.domain.service import CredentialChanges, DataSourceService
from datasource_registry.domain.types import Role

EDITOR = Principal("alice", "t1", Role.EDITOR)
VIEWER = Principal("victor", "t1", Role.VIEWER)
OTHER_TENANT = Principal("mallory", "t2", Role.ADMIN)


def pg_spec(name: str = "Warehouse", **extra) -> DataSourceSpec:
    return DataSourceSpec.model_validate(
        {
            "name": name,
            "type": "postgresql",
            "host": "db.internal",
            "port": 5432,
            "databaseName": "wh",
            **extra,
        }
    )


class Boom(Exception):
    pass


@pytest.fixture
def repo() -> InMemoryDataSourceRepository:
    return InMemoryDataSourceRepository()


@pytest.fixture
def secrets() -> InMemorySecretStore:
    return InMemorySecretStore()


@pytest.fixture
def service(repo, secrets) -> DataSourceService:
    return DataSourceService(repo, secrets, clock=lambda: datetime(2026, 11, 23, 12, tzinfo=UTC))


def test_create_keeps_credentials_in_the_secret_store_and_only_their_names_on_the_record(service, secrets):
    source = service.create(EDITOR, pg_spec(), None, {"username": "u", "password": "p4ss"})

    assert source.key == "warehouse"
    assert source.credential_names == ["password", "username"]
    assert "p4ss" not in source.model_dump_json()
    assert service.credentials_of(source) == {"username": "u", "password": "p4ss"}


def test_a_failed_record_write_leaves_no_orphaned_secret(repo, secrets, service, monkeypatch):
    monkeypatch.setattr(repo, "add", lambda source, revision=None: (_ for _ in ()).throw(Boom()))

    with pytest.raises(Boom):
        service.create(EDITOR, pg_spec(), None, {"password": "p"})

    assert secrets.versions == {}


def test_duplicate_key_and_name_are_refused_and_leave_no_secret(service, secrets):
    service.create(EDITOR, pg_spec("Sales"), "sales", {})
    with pytest.raises(AlreadyExists) as by_key:
        service.create(EDITOR, pg_spec("Other"), "sales", {"password": "p"})
    with pytest.raises(AlreadyExists) as by_name:
        service.create(EDITOR, pg_spec("SALES"), "sales-2", {"password": "p"})

    assert (by_key.value.field, by_name.value.field) == ("key", "name")
    assert secrets.versions == {}


def test_a_derived_key_that_collides_gets_a_suffix(service):
    service.create(EDITOR, pg_spec("a b"), None, {})
    second = service.create(EDITOR, pg_spec("A-B"), None, {})

    assert second.key.startswith("a-b-") and second.key != "a-b"


def test_database_types_need_host_port_and_database_or_a_connection_string(service):
    with pytest.raises(ValidationFailed) as refused:
        service.create(EDITOR, DataSourceSpec(name="x", type="mysql"), None, {})  # type: ignore[arg-type]

    assert {e.field for e in refused.value.errors} == {"host", "port", "databaseName"}
    ok = service.create(EDITOR, DataSourceSpec(name="y", type="mysql", connection_string="mysql://h/db"), None, {})  # type: ignore[arg-type]
    assert ok.spec.type == "mysql"


def test_update_changes_only_the_given_fields_and_bumps_row_version(service):
    source = service.create(EDITOR, pg_spec(tags=["a"]), None, {})

    updated = service.update(EDITOR, source.key, {"description": "new"})

    assert updated.row_version == 2
    assert (updated.spec.description, updated.spec.tags, updated.spec.host) == ("new", ["a"], "db.internal")


def test_update_with_a_stale_row_version_is_a_conflict_carrying_the_current_state(service):
    source = service.create(EDITOR, pg_spec(), None, {})
    service.update(EDITOR, source.id, {"description": "first"}, expected_version=1)

    with pytest.raises(VersionConflict) as conflict:
        service.update(EDITOR, source.id, {"description": "second"}, expected_version=1)

    assert conflict.value.current.row_version == 2
    assert conflict.value.current.spec.description == "first"


def test_credential_updates_set_remove_or_leave_each_name(service):
    source = service.create(EDITOR, pg_spec(), None, {"username": "u", "password": "old"})

    updated = service.update(EDITOR, source.id, {}, CredentialChanges({"password": None, "api_key": "k"}))

    assert service.credentials_of(updated) == {"username": "u", "api_key": "k"}
    assert updated.credential_names == ["api_key", "username"]


def test_a_failed_update_restores_the_secret_version_in_force(repo, secrets, service, monkeypatch):
    source = service.create(EDITOR, pg_spec(), None, {"password": "old"})
    monkeypatch.setattr(repo, "replace", lambda previous, updated, revision=None: (_ for _ in ()).throw(Boom()))

    with pytest.raises(Boom):
        service.update(EDITOR, source.id, {}, CredentialChanges({"password": "new"}))

    stored = repo.get("t1", source.id)
    assert stored is not None and service.credentials_of(stored) == {"password": "old"}
    assert secrets.current[source.secret_arn] == source.secret_version


def test_a_failed_delete_restores_the_secret(repo, secrets, service, monkeypatch):
    source = service.create(EDITOR, pg_spec(), None, {"password": "p"})
    monkeypatch.setattr(repo, "remove", lambda source, revision=None: (_ for _ in ()).throw(Boom()))

    with pytest.raises(Boom):
        service.delete(EDITOR, source.id)

    assert source.secret_arn not in secrets.scheduled_for_deletion
    assert repo.get("t1", source.id) is not None


def test_delete_schedules_the_secret_for_deletion(service, secrets):
    source = service.create(EDITOR, pg_spec(), None, {"password": "p"})

    service.delete(EDITOR, source.key)

    assert source.secret_arn in secrets.scheduled_for_deletion
    with pytest.raises(NotFound):
        service.get(EDITOR, source.id)


def test_viewers_read_but_never_write(service):
    source = service.create(EDITOR, pg_spec(), None, {})

    assert service.get(VIEWER, source.id).id == source.id
    for attempt in (
        lambda: service.create(VIEWER, pg_spec("v"), None, {}),
        lambda: service.update(VIEWER, source.id, {"description": "x"}),
        lambda: service.delete(VIEWER, source.id),
    ):
        with pytest.raises(Forbidden):
            attempt()


def test_another_tenant_cannot_see_or_change_a_source(service):
    source = service.create(EDITOR, pg_spec(), None, {})

    for attempt in (
        lambda: service.get(OTHER_TENANT, source.id),
        lambda: service.update(OTHER_TENANT, source.id, {"description": "x"}),
        lambda: service.delete(OTHER_TENANT, source.key),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert service.list(OTHER_TENANT, 10, None).items == []


def test_concurrent_updates_without_row_version_lose_nothing(service):
    source = service.create(EDITOR, pg_spec(), None, {})
    fields = ["description", "schema_name", "file_format", "last_sync_status", "schema_key", "region"]

    threads = [
        threading.Thread(target=service.update, args=(EDITOR, source.id, {field: f"v-{field}"})) for field in fields
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = service.get(EDITOR, source.id)
    assert all(getattr(final.spec, field) == f"v-{field}" for field in fields)
    assert final.row_version == 1 + len(fields)


def test_health_moves_from_requires_configuration_to_not_tested(service):
    bare = service.create(EDITOR, DataSourceSpec(name="bare"), None, {})
    configured = service.create(EDITOR, pg_spec(), None, {})

    assert health_of(bare).code == "001"
    assert health_of(configured).code == "003" and not health_of(configured).healthy


def test_ids_made_in_the_same_millisecond_still_sort_by_creation():
    from datasource_registry.domain.ids import new_data_source_id

    ids = [new_data_source_id(1_800_000_000_000) for _ in range(50)]

    assert ids == sorted(ids) and len(set(ids)) == 50


def test_a_user_write_that_loses_only_to_a_system_write_is_reapplied_on_the_latest(repo, service, monkeypatch):
    # Given a source, and a system write (a test result) that lands between the user's read and write
    source = service.create(EDITOR, pg_spec(), None, {})
    original_replace = repo.replace
    raced = []

    def replace_after_a_system_write(previous, updated, revision=None):
        if not raced:
            raced.append(True)
            service.apply_registry_update(source.tenant_id, source.id, lambda current: {"failure_count": 7})
        original_replace(previous, updated, revision)

    monkeypatch.setattr(repo, "replace", replace_after_a_system_write)
    # When the user writes with the rowVersion they read
    updated = service.update(EDITOR, source.id, {"description": "mine"}, expected_version=source.row_version)
    # Then it is applied (no 409), its rowVersion advanced once, and the system's field is not overwritten
    final = service.get(EDITOR, source.id)
    assert updated.row_version == final.row_version == source.row_version + 1
    assert (final.spec.description, final.failure_count) == ("mine", 7)


def test_a_system_write_does_not_advance_the_row_version(service):
    source = service.create(EDITOR, pg_spec(), None, {})
    after = service.apply_registry_update(source.tenant_id, source.id, lambda current: {"failure_count": 1})
    assert after is not None and after.row_version == source.row_version and after.revision == source.revision + 1


def test_sixteen_concurrent_updates_without_row_version_all_land(service):
    source = service.create(EDITOR, pg_spec(), None, {})
    errors: list[Exception] = []

    def write(i: int) -> None:
        try:
            service.update(EDITOR, source.id, {"description": f"d{i}"})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert service.get(EDITOR, source.id).row_version == source.row_version + 16


def test_a_create_whose_every_answer_was_lost_reports_what_is_stored(repo, secrets, service, monkeypatch):
    from datasource_registry.domain.errors import DependencyUnavailable

    stored_add = repo.add

    def landed_but_unanswered(source, revision=None):
        stored_add(source, revision)
        raise DependencyUnavailable("lost")

    # Given the record write took effect but no answer came back, Then the create is answered as done
    monkeypatch.setattr(repo, "add", landed_but_unanswered)
    created = service.create(EDITOR, pg_spec(), None, {"password": "pw"})
    assert service.get(EDITOR, created.id).secret_arn == created.secret_arn in secrets.current

    def never_landed(source, revision=None):
        raise DependencyUnavailable("lost")

    # Given it did not take effect, Then the answer is 503 and the secret is not left behind
    monkeypatch.setattr(repo, "add", never_landed)
    with pytest.raises(DependencyUnavailable):
        service.create(EDITOR, pg_spec("Other"), None, {"password": "pw"})
    assert len(secrets.current) == 1


@pytest.mark.parametrize("pad", ["\x0c", " ", "\t", "\u3000"])
def test_a_name_is_trimmed_but_its_documented_255_character_limit_holds_for_what_was_sent(pad):
    # 255 characters once trimmed, 256 as sent: the published maxLength judges the request, not what is kept
    with pytest.raises(ValidationError) as caught:
        DataSourceSpec.model_validate({"name": pad + "n" * 255, "type": "other"})
    assert caught.value.errors()[0]["type"] == "string_too_long"
    assert DataSourceSpec.model_validate({"name": pad + "n" * 254, "type": "other"}).name == "n" * 254
