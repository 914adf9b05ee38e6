"""The Oracle form of pushed-down globs (`LIKE :p ESCAPE '\\'`) read by a real SQL LIKE: PostgreSQL's, which like
Oracle's (NLS_COMP=BINARY, as the connector sets it) is the standard one, case-sensitive, with `%`, `_` and an escape
character only. Every generated glob and name: an include LIKE keeps at least what the glob keeps, and an exact one
(every exclude that is pushed) keeps exactly that."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.sql_like import like_of
from tests.conftest import port_open, require

pytestmark = [pytest.mark.server, pytest.mark.needs_postgres]

ALPHABET = "aAb._%\\*?-"
TOKENS = st.one_of(
    st.sampled_from(list("aAb._%-")),
    st.sampled_from(["*", "?", "\\*", "\\?", "\\\\", "\\[", "[ab]", "[!a]", "[a-b]"]),
)
GLOBS = st.lists(TOKENS, max_size=6).map("".join)
NAMES = st.lists(st.text(alphabet=ALPHABET, max_size=6), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True)
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(glob=GLOBS, names=NAMES)
def test_like_patterns_keep_what_the_glob_keeps(pg: Any, glob: str, names: list[str]) -> None:
    like = like_of(glob, brackets=False)
    rows = pg.execute("SELECT n, n LIKE %s ESCAPE '\\' FROM unnest(%s::text[]) AS n", [like.text, names]).fetchall()
    keeps = NameFilter(include=[glob])

    for name, matched in rows:
        if keeps(name):
            assert matched, (glob, like.text, name)
        elif like.exact:
            assert not matched, (glob, like.text, name)
