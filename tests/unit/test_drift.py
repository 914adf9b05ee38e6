"""Drift classification: kinds, severities, the type-widening table per engine family, renames, and bounded notices."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasource_registry.adapters.memory import InMemoryDataSourceRepository, InMemorySecretStore
from datasource_registry.adapters.memory_refresh import (
    FakeSchemaRefresher,
    InMemoryEventPublisher,
    InMemoryRefreshQueue,
    InMemoryRefreshSchedule,
)
from datasource_registry.discovered import Column, DiscoveredSchema, Table
from datasource_registry.domain.drift import (
    NOTICE_CHANGES,
    ChangeKind,
    Family,
    SchemaChange,
    Severity,
    changes_between,
    family_of,
    notice,
    parse_type,
    widens,
)
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.ports import RefreshOutcome, SnapshotMeta
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.refresh_service import SCHEMA_CHANGED, RefreshSweeper, RefreshWorker
from datasource_registry.domain.rules import connection_checked
from datasource_registry.domain.schema_diff import diff_schemas
from datasource_registry.domain.schema_service import Discovery, drift_notice
from datasource_registry.domain.service import DataSourceService
from datasource_registry.domain.types import Role

BREAKING, NON_BREAKING = Severity.BREAKING, Severity.NON_BREAKING


def table(name: str, *columns: tuple[str, str, bool], pk: tuple[str, ...] = (), schema: str = "public") -> Table:
    return Table(
        schema,
        name,
        "table",
        [Column(n, t, nullable, None, i) for i, (n, t, nullable) in enumerate(columns, start=1)],
        list(pk),
    )


def only(changes: list[SchemaChange]) -> SchemaChange:
    assert len(changes) == 1, changes
    return changes[0]


def type_change(family: Family, before: str, after: str) -> SchemaChange:
    return only(changes_between([table("t", ("c", before, True))], [table("t", ("c", after, True))], family))


# -- the widening table, by example ---------------------------------------------------------------------------
WIDENED = [
    ("postgres", "integer", "bigint"),
    ("postgres", "int4", "int8"),
    ("postgres", "smallint", "integer"),
    ("postgres", "character varying(10)", "character varying(20)"),
    ("postgres", "character varying(10)", "text"),
    ("postgres", "character varying(10)", "character varying"),
    ("postgres", "numeric(10,2)", "numeric(12,2)"),
    ("postgres", "numeric(10,2)", "numeric(12,4)"),
    ("postgres", "numeric(10,2)", "numeric"),
    ("postgres", "integer", "numeric(12,2)"),
    ("postgres", "real", "double precision"),
    ("postgres", "float4", "float8"),
    ("postgres", "smallint", "real"),
    ("postgres", "integer", "double precision"),
    ("postgres", "timestamp(3) without time zone", "timestamp without time zone"),
    ("postgres", "integer[]", "bigint[]"),
    ("mysql", "int(11)", "bigint(20)"),
    ("mysql", "int", "bigint"),
    ("mysql", "int unsigned", "bigint"),
    ("mysql", "tinyint unsigned", "smallint"),
    ("mysql", "varchar(10)", "varchar(20)"),
    ("mysql", "varchar(100)", "text"),
    ("mysql", "decimal(10,2)", "decimal(12,2)"),
    ("mysql", "int", "decimal(12,2)"),
    ("mysql", "float", "double"),
    ("mysql", "mediumint", "double"),
    ("mysql", "text", "mediumtext"),
    ("mysql", "varbinary(16)", "blob"),
    ("mysql", "enum('a','b')", "enum('a','b','it''s')"),
    ("mysql", "datetime", "datetime(3)"),
]

NOT_WIDENED = [
    ("postgres", "bigint", "integer"),  # narrowed
    ("postgres", "character varying(20)", "character varying(10)"),
    ("postgres", "text", "character varying(10)"),
    ("postgres", "numeric(12,2)", "numeric(10,2)"),
    ("postgres", "numeric(10,2)", "numeric(12,1)"),  # a fraction digit lost
    ("postgres", "numeric", "numeric(30,10)"),
    ("postgres", "double precision", "real"),
    ("postgres", "bigint", "double precision"),  # 2^63 does not fit in a 53-bit significand
    ("postgres", "integer", "real"),
    ("postgres", "integer", "numeric(11,2)"),  # 9 integer digits < 10
    ("postgres", "integer", "text"),  # a different kind of value
    ("postgres", "timestamp without time zone", "timestamp with time zone"),  # a different meaning
    ("postgres", "character(5)", "character(10)"),  # padding changes the value
    ("postgres", "integer[]", "bigint"),
    ("postgres", "jsonb", "json"),  # not in the table: unknown
    ("mysql", "int", "int unsigned"),  # negatives lost
    ("mysql", "int unsigned", "int"),
    ("mysql", "bigint unsigned", "decimal(19,0)"),
    ("mysql", "tinyint(1)", "tinyint"),  # drivers read tinyint(1) as a boolean
    ("mysql", "bigint", "double"),
    ("mysql", "varchar(20000)", "text"),  # 80,000 bytes in utf8mb4 > 65,535
    ("mysql", "enum('a','b')", "enum('b','a')"),  # reordered: indexes and sort order change
    ("mysql", "enum('a','b')", "enum('a','c','b')"),
    ("mysql", "datetime(3)", "datetime"),
    ("other", "int", "bigint"),  # an engine without a table: every change breaks
    ("other", "string", "long"),
]


@pytest.mark.parametrize(("family", "before", "after"), WIDENED)
def test_a_widened_type_is_non_breaking_and_its_reverse_breaking(family, before, after) -> None:
    assert type_change(family, before, after).severity is NON_BREAKING
    assert type_change(family, after, before).severity is BREAKING


@pytest.mark.parametrize(("family", "before", "after"), NOT_WIDENED)
def test_a_narrowed_or_unknown_type_change_is_breaking(family, before, after) -> None:
    change = type_change(family, before, after)

    assert (change.kind, change.severity, change.before, change.after) == (
        ChangeKind.TYPE_CHANGED,
        BREAKING,
        before,
        after,
    )


def test_aliases_of_one_type_read_as_equal() -> None:
    assert parse_type("postgres", "INT4") == parse_type("postgres", "integer")
    assert parse_type("postgres", "character varying") == parse_type("postgres", "text")
    assert parse_type("mysql", "int(11)") == parse_type("mysql", "int")
    assert parse_type("mysql", "decimal") == parse_type("mysql", "decimal(10,0)")
    assert parse_type("mysql", "tinyint(1)") != parse_type("mysql", "tinyint(4)")


def test_the_family_follows_the_source_type() -> None:
    assert [family_of(t) for t in ("postgresql", "redshift", "mysql", "mariadb", "snowflake", None)] == [
        "postgres",
        "postgres",
        "mysql",
        "mysql",
        "other",
        "other",
    ]


# -- the widening table, by property --------------------------------------------------------------------------
LENGTHS = st.integers(min_value=1, max_value=40)
POSTGRES_TYPES = st.one_of(
    st.sampled_from(
        [
            "smallint",
            "integer",
            "bigint",
            "int2",
            "int4",
            "int8",
            "real",
            "double precision",
            "float8",
            "numeric",
            "text",
            "character varying",
            "boolean",
            "uuid",
            "jsonb",
            "timestamp without time zone",
            "timestamp with time zone",
            "date",
        ]
    ),
    st.builds(lambda p, s: f"numeric({p},{min(s, p)})", LENGTHS, st.integers(0, 12)),
    st.builds(lambda p: f"numeric({p})", LENGTHS),
    st.builds(lambda n: f"character varying({n})", LENGTHS),
    st.builds(lambda n: f"character({n})", LENGTHS),
    st.builds(lambda p: f"timestamp({p}) without time zone", st.integers(0, 6)),
)
POSTGRES_TYPES = st.one_of(POSTGRES_TYPES, st.builds(lambda t: f"{t}[]", POSTGRES_TYPES))
MYSQL_TYPES = st.one_of(
    st.builds(
        lambda base, unsigned, width: f"{base}{width}{unsigned}",
        st.sampled_from(["tinyint", "smallint", "mediumint", "int", "bigint"]),
        st.sampled_from(["", " unsigned"]),
        st.sampled_from(["", "(1)", "(11)"]),
    ),
    st.sampled_from(
        ["float", "double", "text", "tinytext", "mediumtext", "longtext", "blob", "tinyblob", "longblob", "json"]
    ),
    st.sampled_from(["year", "date", "datetime", "time", "timestamp", "bool"]),
    st.builds(
        lambda p, s, u: f"decimal({p},{min(s, p)}){u}", LENGTHS, st.integers(0, 12), st.sampled_from(["", " unsigned"])
    ),
    st.builds(lambda n: f"varchar({n * 1000})", LENGTHS),
    st.builds(lambda n: f"varbinary({n})", LENGTHS),
    st.builds(lambda n: f"bit({n})", LENGTHS),
    st.builds(lambda p: f"datetime({p})", st.integers(0, 6)),
    st.builds(
        lambda values: "enum(" + ",".join(f"'{v}'" for v in values) + ")",
        st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True),
    ),
)
FAMILY_TYPES = st.one_of(
    st.tuples(st.just("postgres"), POSTGRES_TYPES, POSTGRES_TYPES, POSTGRES_TYPES),
    st.tuples(st.just("mysql"), MYSQL_TYPES, MYSQL_TYPES, MYSQL_TYPES),
)


TYPE_SETS = st.one_of(
    st.tuples(st.just("postgres"), st.lists(POSTGRES_TYPES, min_size=2, max_size=7)),
    st.tuples(st.just("mysql"), st.lists(MYSQL_TYPES, min_size=2, max_size=7)),
)


@settings(max_examples=400, deadline=None)
@given(TYPE_SETS)
def test_widening_is_a_partial_order(family_types) -> None:
    family, types = family_types
    wider = {(a, b) for a in types for b in types if widens(family, a, b)}
    for a in types:
        assert (a, a) in wider  # reflexive: a type holds its own values
    for a, b in wider:
        # antisymmetric: a change and its reverse are never both widening unless the types are equal
        if (b, a) in wider:
            assert parse_type(family, a) == parse_type(family, b)
        # transitive: two widenings in a row are a widening
        for c in types:
            if (b, c) in wider:
                assert (a, c) in wider, (a, b, c)


VOCABULARY: dict[Family, list[str]] = {
    "postgres": [
        *("smallint", "integer", "bigint", "int2", "int4", "int8", "real", "double precision", "float4", "float8"),
        *("numeric", "numeric(5)", "numeric(5,0)", "numeric(10)", "numeric(10,2)", "numeric(12,2)", "numeric(12,4)"),
        *("numeric(19,0)", "numeric(20,1)", "numeric(30,10)", "text", "character varying", "character varying(1)"),
        *("character varying(10)", "character varying(20)", "character(10)", "character(20)", "boolean", "jsonb"),
        *("timestamp without time zone", "timestamp(0) without time zone", "timestamp(3) without time zone"),
        *("timestamp with time zone", "time without time zone", "time(2) without time zone", "interval", "date"),
        *("integer[]", "bigint[]", "text[]", "character varying(5)[]", "integer[][]", "bit varying(4)", "bit varying"),
    ],
    "mysql": [
        *("tinyint", "tinyint(1)", "tinyint(4)", "tinyint unsigned", "smallint", "smallint unsigned", "mediumint"),
        *("mediumint unsigned", "int", "int(11)", "int unsigned", "int(10) unsigned zerofill", "bigint"),
        *("bigint unsigned", "bool", "float", "float unsigned", "double", "double unsigned", "decimal", "decimal(3,0)"),
        *("decimal(5,0)", "decimal(8,0)", "decimal(10,2)", "decimal(12,2)", "decimal(19,0)", "decimal(20,0)"),
        *("decimal(20,0) unsigned", "decimal(30,5)", "varchar(10)", "varchar(60)", "varchar(100)", "varchar(16383)"),
        *("varchar(16384)", "char(10)", "tinytext", "text", "mediumtext", "longtext", "varbinary(255)"),
        *("varbinary(256)", "tinyblob", "blob", "longblob", "enum('a')", "enum('a','b')", "enum('b','a')"),
        *("set('a')", "set('a','b')", "datetime", "datetime(3)", "datetime(6)", "time", "time(3)", "timestamp"),
        *("bit(1)", "bit(8)", "year", "date", "json"),
    ],
}


@pytest.mark.parametrize("family", ["postgres", "mysql"])
def test_widening_is_a_partial_order_over_the_whole_vocabulary(family: Family) -> None:
    types = VOCABULARY[family]
    wider = {(a, b) for a in types for b in types if widens(family, a, b)}
    same = {(a, b) for a in types for b in types if parse_type(family, a) == parse_type(family, b)}

    assert {(a, a) for a in types} <= wider
    assert {(a, b) for a, b in wider if (b, a) in wider} == same
    broken = [(a, b, c) for a, b in wider for c in types if (b, c) in wider and (a, c) not in wider]
    assert broken == []
    assert len(wider - same) > 100  # the table says something


@settings(max_examples=800, deadline=None)
@given(FAMILY_TYPES)
def test_a_type_change_is_non_breaking_exactly_when_it_widens(types) -> None:
    family, a, b, _ = types
    changes = changes_between([table("t", ("c", a, True))], [table("t", ("c", b, True))], family)

    if a == b:
        assert changes == []
    else:
        assert (only(changes).severity is NON_BREAKING) == widens(family, a, b)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_without_a_table_every_type_change_is_breaking(a, b) -> None:
    if a != b:
        assert type_change("other", a, b).severity is BREAKING


COLUMN = st.tuples(st.sampled_from("abcd"), POSTGRES_TYPES, st.booleans())
SCHEMA = st.lists(
    st.tuples(st.sampled_from(["t", "u"]), st.lists(COLUMN, max_size=4, unique_by=lambda c: c[0])),
    max_size=2,
    unique_by=lambda t: t[0],
)


def build(tables) -> list[Table]:
    return [table(name, *columns, pk=tuple(c[0] for c in columns[:1])) for name, columns in tables]


@settings(max_examples=500, deadline=None)
@given(SCHEMA, SCHEMA)
def test_a_schema_change_and_its_reverse_are_never_both_non_breaking_unless_equal(first, second) -> None:
    old, new = build(first), build(second)
    forward, backward = changes_between(old, new, "postgres"), changes_between(new, old, "postgres")

    assert changes_between(old, old, "postgres") == []
    if all(c.severity is NON_BREAKING for c in forward + backward):
        # only type spellings of one type may differ (int4 / integer)
        assert all(c.kind is ChangeKind.TYPE_CHANGED for c in forward + backward)
        assert all(parse_type("postgres", c.before or "") == parse_type("postgres", c.after or "") for c in forward)
    # additions one way are removals the other way
    assert sum(c.kind is ChangeKind.COLUMN_ADDED for c in forward) == sum(
        c.kind is ChangeKind.COLUMN_REMOVED for c in backward
    )
    assert [c for c in forward if c.severity is BREAKING] == sorted(
        (c for c in forward if c.severity is BREAKING), key=lambda c: (c.table, c.column or "", c.kind.value)
    )
    assert forward[: len([c for c in forward if c.severity is BREAKING])] == [
        c for c in forward if c.severity is BREAKING
    ]  # breaking changes come first


# -- kinds and severities -------------------------------------------------------------------------------------
def test_each_kind_has_its_severity() -> None:
    old = [
        table("orders", ("id", "integer", False), ("note", "text", True), ("total", "bigint", True), pk=("id",)),
        table("gone", ("id", "integer", False)),
    ]
    new = [
        table(
            "orders",
            ("id", "bigint", False),
            ("total", "integer", False),
            ("placed_at", "date", True),
            pk=("id", "placed_at"),
        ),
        table("fresh", ("x", "text", True)),
    ]

    found = {(c.kind, c.column): (c.severity, c.before, c.after) for c in changes_between(old, new, "postgres")}

    assert found == {
        (ChangeKind.TABLE_REMOVED, None): (BREAKING, None, None),
        (ChangeKind.TABLE_ADDED, None): (NON_BREAKING, None, None),
        (ChangeKind.COLUMN_REMOVED, "note"): (BREAKING, "text", None),
        (ChangeKind.COLUMN_ADDED, "placed_at"): (NON_BREAKING, None, "date"),
        (ChangeKind.TYPE_CHANGED, "id"): (NON_BREAKING, "integer", "bigint"),
        (ChangeKind.TYPE_CHANGED, "total"): (BREAKING, "bigint", "integer"),
        (ChangeKind.NULLABILITY_CHANGED, "total"): (BREAKING, "nullable", "not null"),
        (ChangeKind.KEY_CHANGED, None): (BREAKING, "id", "id,placed_at"),
    }


def test_loosened_nullability_is_non_breaking_and_a_view_in_place_of_a_table_breaks() -> None:
    old = [table("t", ("c", "text", False))]
    view = Table("public", "t", "view", [Column("c", "text", True, None, 1)], [])

    found = [(c.kind, c.severity, c.before, c.after) for c in changes_between(old, [view], "postgres")]

    assert found == [
        (ChangeKind.TABLE_KIND_CHANGED, BREAKING, "table", "view"),
        (ChangeKind.NULLABILITY_CHANGED, NON_BREAKING, "not null", "nullable"),
    ]


# -- renames: the rule and its limits -------------------------------------------------------------------------
def columns_at(*columns: tuple[str, str, bool, int]) -> list[Table]:
    return [Table("public", "t", "table", [Column(n, t, nb, None, o) for n, t, nb, o in columns], [])]


def test_a_column_at_the_same_position_with_the_same_type_and_nullability_is_renamed() -> None:
    old = columns_at(("id", "integer", False, 1), ("mail", "text", True, 2))
    new = columns_at(("id", "integer", False, 1), ("email", "text", True, 2))

    change = only(changes_between(old, new, "postgres"))

    assert (change.kind, change.severity, change.column, change.before, change.after) == (
        ChangeKind.COLUMN_RENAMED,
        BREAKING,
        "email",
        "mail",
        "email",
    )


@pytest.mark.parametrize(
    "added",
    [
        ("email", "text", True, 3),  # PostgreSQL: a drop + add gets a new attnum
        ("email", "character varying(50)", True, 2),  # another type
        ("email", "text", False, 2),  # another nullability
    ],
)
def test_a_drop_and_add_that_differ_in_position_type_or_nullability_is_not_a_rename(added) -> None:
    old = columns_at(("id", "integer", False, 1), ("mail", "text", True, 2))
    new = columns_at(("id", "integer", False, 1), added)

    kinds = sorted(c.kind for c in changes_between(old, new, "postgres"))

    assert kinds == [ChangeKind.COLUMN_ADDED, ChangeKind.COLUMN_REMOVED]


def test_a_table_with_the_same_columns_key_and_kind_is_renamed_only_when_the_pair_is_unique() -> None:
    shape = (("id", "integer", False), ("name", "text", True))
    renamed = changes_between([table("client", *shape, pk=("id",))], [table("customer", *shape, pk=("id",))])
    assert [(c.kind, c.table, c.before, c.after) for c in renamed] == [
        (ChangeKind.TABLE_RENAMED, "public.customer", "client", "customer")
    ]
    # two identical tables gone and two come: which is which cannot be told
    ambiguous = changes_between(
        [table("a", *shape), table("b", *shape)], [table("c", *shape), table("d", *shape)], "postgres"
    )
    assert sorted(c.kind for c in ambiguous) == [ChangeKind.TABLE_ADDED] * 2 + [ChangeKind.TABLE_REMOVED] * 2
    # another schema is not a rename
    moved = changes_between([table("a", *shape)], [table("a", *shape, schema="archive")], "postgres")
    assert sorted(c.kind for c in moved) == [ChangeKind.TABLE_ADDED, ChangeKind.TABLE_REMOVED]


def test_the_diff_lists_changes_and_counts_them_by_severity() -> None:
    old = DiscoveredSchema([table("t", ("a", "integer", True), ("b", "text", True))])
    new = DiscoveredSchema([table("t", ("a", "bigint", True), ("c", "date", True))])

    body = diff_schemas(old, new, "postgres").to_dict()
    only_breaking = diff_schemas(old, new, "postgres").to_dict(Severity.BREAKING)

    assert body["severityCounts"] == {"breaking": 1, "nonBreaking": 2}
    assert [(c["kind"], c["severity"]) for c in body["changes"]] == [
        ("column_removed", "breaking"),
        ("type_changed", "non_breaking"),
        ("column_added", "non_breaking"),
    ]
    assert [c["column"] for c in only_breaking["changes"]] == ["b"]
    assert only_breaking["severityCounts"] == body["severityCounts"]
    # without a family the same type change is judged unknown
    assert diff_schemas(old, new).severity_counts() == {"breaking": 2, "nonBreaking": 1}


# -- notices --------------------------------------------------------------------------------------------------
def entry_size(detail_type: str, detail: dict) -> int:
    """An event's PutEvents entry size as AWS counts it: Time (14) + Source + DetailType + Detail, in UTF-8 bytes."""
    encoded = json.dumps(detail, separators=(",", ":"), default=str)  # as adapters/events.py sends it
    return 14 + len(b"datasource-registry") + len(detail_type.encode()) + len(encoded.encode())


def huge_diff() -> Discovery:
    """Thousands of tables with 60-character names in 4-byte characters, each with long unicode columns altered."""
    long = "\U0001d521" * 60  # a 4-byte character, escaped to 12 bytes in JSON
    old = DiscoveredSchema(
        [table(f"{long}{i}", *((f"{long}{j}", "integer", True) for j in range(40))) for i in range(300)]
    )
    new = DiscoveredSchema(
        [table(f"{long}{i}", *((f"{long}{j}", "text", False) for j in range(40))) for i in range(300)]
        + [table(f"{long}new{i}", ("x", "t" * 500, True)) for i in range(2000)]
    )
    meta = SnapshotMeta(2, "sha256:x", datetime.now(UTC), 2300, None, (), "w")
    return Discovery("ds-1", meta, changed=True, diff=diff_schemas(old, new, "postgres"))


def test_a_notice_holds_the_counts_and_only_the_first_changes() -> None:
    discovery = huge_diff()
    assert discovery.diff is not None

    drift = drift_notice(discovery)

    assert drift is not None
    assert drift["severityCounts"] == {"breaking": 24_000, "nonBreaking": 2_000}
    assert drift["changeCount"] == 26_000
    assert 0 < len(drift["changes"]) <= NOTICE_CHANGES
    assert all(c["severity"] == "breaking" for c in drift["changes"])  # breaking first
    assert all(len(c["table"]) <= 120 and len(c["column"] or "") <= 120 for c in drift["changes"])
    assert drift["diffPath"] == "/api/v1/data-sources/ds-1/schema/diff?from=1&to=2"


def test_a_huge_diff_is_published_within_eventbridges_entry_limit() -> None:
    # Given a tested source whose scheduled refresh finds the huge diff
    now = datetime(2026, 11, 23, tzinfo=UTC)
    repo, secrets = InMemoryDataSourceRepository(), InMemorySecretStore()
    service = DataSourceService(repo, secrets, clock=lambda: now)
    spec = DataSourceSpec.model_validate(
        {"name": "Big", "type": "postgresql", "host": "db", "port": 5432, "databaseName": "d", "status": "active"}
    )
    created = service.create(Principal("alice", "t1", Role.EDITOR), spec, None, {"password": "pw-not-in-events"})
    service.apply_registry_update(
        "t1", created.id, lambda current: connection_checked(current, now, healthy=True, reason=None)
    )
    discovery = huge_diff()
    assert discovery.diff is not None
    refresher = FakeSchemaRefresher(
        RefreshOutcome(
            ok=True, changed=True, version=2, diff_summary=discovery.diff.summary(), drift=drift_notice(discovery)
        )
    )
    events, queue = InMemoryEventPublisher(), InMemoryRefreshQueue()

    # When the schedule claims it and the worker runs it
    RefreshSweeper(InMemoryRefreshSchedule(repo, shards=4), queue, lambda: now, shards=4).sweep()
    worker = RefreshWorker(service, refresher, events, lambda: now)
    for request in queue.messages:
        worker.run(request)

    # Then the schema-change event is far below 256 KB and carries the counts, a few changes and the diff's path
    kind, detail = events.events[0]
    assert kind == SCHEMA_CHANGED
    assert entry_size(kind, detail) < 96 * 1024 < 256 * 1024
    assert detail["severityCounts"] == {"breaking": 24_000, "nonBreaking": 2_000}
    assert 0 < len(detail["changes"]) <= NOTICE_CHANGES
    assert detail["diffPath"].endswith("/schema/diff?from=1&to=2")
    assert "pw-not-in-events" not in json.dumps(detail)


def test_the_byte_budget_cuts_the_list_before_the_count_does() -> None:
    changes = [SchemaChange(ChangeKind.COLUMN_REMOVED, BREAKING, "t" * 500, f"c{i}", "x" * 500) for i in range(50)]

    small = notice(changes, budget=2_000)

    assert 0 < len(small["changes"]) < NOTICE_CHANGES
    assert len(json.dumps(small["changes"], separators=(",", ":")).encode()) <= 2_000
    assert len(notice(changes)["changes"]) == NOTICE_CHANGES
