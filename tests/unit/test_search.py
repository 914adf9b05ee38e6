"""002's filter rules on in-memory storage: wildcard kinds, AND across lists, oldest first, skip/limit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from datasource_registry.adapters.memory import InMemoryDataSourceRepository, InMemorySecretStore
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.search import Wildcard, wildcards
from datasource_registry.domain.service import DataSourceService
from datasource_registry.domain.types import Role

EDITOR = Principal("alice", "t1", Role.EDITOR)
OTHER = Principal("mallory", "t2", Role.EDITOR)


@pytest.mark.parametrize(
    ("pattern", "value", "matches", "seek"),
    [
        ("my-db", "my-db", True, "my-db"),
        ("my-db", "my-db2", False, "my-db"),
        ("prod-*", "prod-pg", True, "prod-"),
        ("prod-*", "staging-prod-pg", False, "prod-"),
        ("*-primary", "pg-primary", True, ""),
        ("*-primary", "pg-primary-2", False, ""),
        ("*postgres*", "my-postgres-db", True, ""),
        ("*postgres*", "postgres", True, ""),
        ("PROD-*", "prod-x", True, "prod-"),
        ("a.b", "axb", False, "a.b"),  # regex characters are literal
    ],
)
def test_wildcard_kinds(pattern, value, matches, seek):
    assert Wildcard(pattern).matches(value) is matches
    assert Wildcard(pattern).seek_prefix == seek


def test_wildcard_lists_are_validated():
    assert wildcards(None, "resourceNames") == []
    assert wildcards(["a", "a"], "resourceNames") == [Wildcard("a")]
    for bad in ("a", [""], [5], ["x" * 256], ["a\nb"], ["p"] * 51):
        with pytest.raises(ValidationFailed):
            wildcards(bad, "resourceNames")


@pytest.fixture
def service():
    # Ids order by their millisecond; a clock that ticks keeps "oldest first" meaningful when creates are fast.
    ticks = itertools.count()
    clock = lambda: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=next(ticks))  # noqa: E731
    service = DataSourceService(InMemoryDataSourceRepository(), InMemorySecretStore(), clock=clock)
    for name, kind in [("prod-pg", "postgresql"), ("prod-my", "mysql"), ("dev-pg", "postgresql"), ("notype", None)]:
        spec = {"name": name, "type": kind, "host": "h", "port": 1, "databaseName": "d"}
        service.create(EDITOR, DataSourceSpec.model_validate(spec), None, {})
    service.create(OTHER, DataSourceSpec.model_validate({"name": "prod-theirs"}), None, {})
    return service


def names(found):
    return [source.spec.name for source in found]


def test_filter_ands_lists_ors_patterns_and_pages_oldest_first(service):
    assert names(service.filter(EDITOR, [Wildcard("prod-*")], [], 0, 100)) == ["prod-pg", "prod-my"]
    assert names(service.filter(EDITOR, [], [Wildcard("*sql")], 0, 100)) == ["prod-pg", "prod-my", "dev-pg"]
    assert names(service.filter(EDITOR, [Wildcard("prod-*")], [Wildcard("postgres*")], 0, 100)) == ["prod-pg"]
    assert names(service.filter(EDITOR, [Wildcard("*")], [], 1, 2)) == ["prod-my", "dev-pg"]
    assert names(service.filter(EDITOR, [], [Wildcard("*")], 0, 100)) == ["prod-pg", "prod-my", "dev-pg"]
    with pytest.raises(ValidationFailed):
        service.filter(EDITOR, [], [], 0, 100)


def test_get_many_keeps_order_and_skips_other_tenants(service):
    mine = service.filter(EDITOR, [Wildcard("*")], [], 0, 100)
    theirs = service.filter(OTHER, [Wildcard("*")], [], 0, 100)

    found = service.get_many(EDITOR, [mine[2].id, theirs[0].id, "junk", mine[0].id])

    assert [s.id for s in found] == [mine[2].id, mine[0].id]
