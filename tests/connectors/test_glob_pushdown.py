"""One glob dialect: what a catalog query's pushed-down filter selects equals what the documented matcher selects.

Tables with generated names (`_`, `%`, brackets, backslashes, stars, accents, mixed case) are created on the real
PostgreSQL and MariaDB; generated include/exclude patterns (`*`, `?`, `[a-z]`, `[!x]`, `[^x]`, escapes) are pushed
down with the matcher's re-check switched off, and the selection is compared with the matcher's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasource_registry import globs
from datasource_registry.connectors import mysql, postgres
from datasource_registry.connectors.names import NameFilter
from tests.conftest import port_open, require

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters a table name may hold in both catalogs, chosen to be special somewhere: LIKE (_ %), regexes
# (. [ ] ^ ! \ * ? - $ +), case and non-ASCII letters.
NAME_CHARS = "aAbBzZ09_%.[]^!\\*?-$+ éÉßĀ"
SPECIAL = set("*?[]\\")


@dataclass(frozen=True)
class PushdownOnly(NameFilter):
    """The catalog query's selection alone: the matcher's re-check after the query is switched off."""

    def __call__(self, qualified_name: str) -> bool:
        return True


def _escaped(ch: str) -> str:
    return "\\" + ch if ch in SPECIAL else ch


table_names = st.text(st.sampled_from(NAME_CHARS), min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s.strip(".") == s
)


@st.composite
def classes(draw: st.DrawFn) -> str:
    negation = draw(st.sampled_from(["", "!", "^"]))
    members = []
    for _ in range(draw(st.integers(1, 3))):
        low, high = sorted(draw(st.lists(st.sampled_from(NAME_CHARS), min_size=2, max_size=2)))
        if draw(st.booleans()):
            members.append(f"{_escaped(low)}-{_escaped(high)}" if low != "-" else "\\-")
        else:
            members.append("\\" + low if low in SPECIAL | {"-", "!", "^"} else low)
    return f"[{negation}{''.join(members)}]"


@st.composite
def patterns_like(draw: st.DrawFn, names: list[str]) -> str:
    """A pattern grown from one of the names (so that some match), with wildcards, classes and escapes."""
    name = draw(st.sampled_from(names))
    out = []
    for ch in name:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            out.append("?")
        elif choice == 1:
            out.append("*")
        elif choice == 2:
            out.append(draw(classes()))
        else:
            out.append(_escaped(ch))
    return "".join(out)


def _selection(tables: list[Any]) -> set[str]:
    return {table.name for table in tables}


def _check(discover: Any, schema: str, names: list[str], include: list[str], exclude: list[str]) -> None:
    qualified = [f"*.{p}" for p in include], [f"{schema}.{p}" for p in exclude]
    matcher = NameFilter(*qualified)
    expected = {name for name in names if matcher(f"{schema}.{name}")}
    pushed = PushdownOnly(*qualified)
    assert pushed.include_regex() is not None or not include
    got = _selection(discover(pushed).tables)
    assert got == expected, (include, exclude, sorted(got ^ expected))
    assert _selection(discover(matcher).tables) == expected  # and discovery as it runs


@pytest.fixture
def pg_connection() -> Any:
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def mariadb_connection() -> Any:
    require(port_open(3306), "MariaDB is not running on 127.0.0.1:3306")
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True, charset="utf8mb4")
    yield conn
    conn.close()


def _cases() -> Any:
    return st.lists(table_names, min_size=1, max_size=6, unique_by=lambda s: s.casefold()).flatmap(
        lambda names: st.tuples(
            st.just(names),
            st.lists(patterns_like(names), min_size=1, max_size=2),
            st.lists(st.one_of(patterns_like(names), classes().map(lambda c: c + "*")), max_size=2),
        )
    )


@pytest.mark.needs_postgres
def test_postgres_pushdown_selects_what_the_matcher_selects(pg_connection):
    @EXAMPLES
    @given(case=_cases())
    def check(case: tuple[list[str], list[str], list[str]]) -> None:
        names, include, exclude = case
        schema = f"glob_{uuid.uuid4().hex[:10]}"
        pg_connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            for name in names:
                quoted = name.replace('"', '""')
                pg_connection.execute(f'CREATE TABLE "{schema}"."{quoted}" (id int)')
            _check(lambda f: postgres.discover_with(pg_connection, schema, f), schema, names, include, exclude)
        finally:
            pg_connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    check()


@pytest.mark.needs_mysql
def test_mariadb_pushdown_selects_what_the_matcher_selects(mariadb_connection):
    @EXAMPLES
    @given(case=_cases())
    def check(case: tuple[list[str], list[str], list[str]]) -> None:
        names, include, exclude = case
        database = f"glob_{uuid.uuid4().hex[:10]}"
        with mariadb_connection.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            try:
                for name in names:
                    quoted = name.replace("`", "``")
                    cur.execute(f"CREATE TABLE `{database}`.`{quoted}` (id int)")
                _check(
                    lambda f: mysql.discover_with(mariadb_connection, database, f), database, names, include, exclude
                )
            finally:
                cur.execute(f"DROP DATABASE `{database}`")

    check()


@given(pattern=st.text(st.sampled_from("ab*?[]!^\\-z"), max_size=10))
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_a_pattern_is_either_refused_at_write_or_compiles_for_every_engine(pattern):
    # The write-time check and the matcher are one parser: what passes the check never fails to compile later.
    try:
        globs.check(pattern)
    except ValueError:
        return
    assert NameFilter([pattern], [pattern]).include_regex("postgres") is not None
    assert NameFilter([pattern])("x") in (True, False)


def test_the_documented_examples():
    cases = {
        ("public.[^x]*", "public.abc"): True,
        ("public.[^x]*", "public.xyz"): False,
        ("public.[!x]*", "public.xyz"): False,
        ("a_b", "aXb"): False,
        ("a%b", "a%b"): True,
        ("a\\*", "a*"): True,
        ("a\\*", "ab"): False,
        ("[]x]", "]"): True,
        ("[a-]", "-"): True,
        ("?", "é"): True,
    }
    for (pattern, name), expected in cases.items():
        assert NameFilter([pattern])(name) is expected, (pattern, name)
    for bad in ("[z-a]", "[abc", "ab\\"):
        with pytest.raises(ValueError):
            globs.check(bad)
