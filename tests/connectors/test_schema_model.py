"""The discovered-schema model: fingerprint, compact JSON round trip, diff, pattern filters, scrubbing."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from datasource_registry.connectors.errors import WITHHELD, Scrubber
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table
from datasource_registry.domain.schema_diff import diff_schemas


def table(name: str, *columns: tuple[str, str, bool], pk: tuple[str, ...] = (), rows: int | None = None) -> Table:
    return Table(
        "public",
        name,
        "table",
        [Column(n, t, nullable, None, i) for i, (n, t, nullable) in enumerate(columns, start=1)],
        list(pk),
        rows,
    )


A = table("a", ("id", "int", False), ("name", "text", True), pk=("id",), rows=10)
B = table("b", ("id", "int", False))


def test_fingerprint_ignores_table_order_and_row_estimates() -> None:
    first = DiscoveredSchema([A, B])
    second = DiscoveredSchema([B, table("a", ("id", "int", False), ("name", "text", True), pk=("id",), rows=99_999)])

    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint().startswith("sha256:")


def test_fingerprint_changes_when_a_type_changes() -> None:
    changed = table("a", ("id", "bigint", False), ("name", "text", True), pk=("id",))

    assert DiscoveredSchema([A, B]).fingerprint() != DiscoveredSchema([changed, B]).fingerprint()


def test_json_round_trip_is_lossless_and_compact() -> None:
    schema = DiscoveredSchema([A, B], details={"source": "test"})

    encoded = json.loads(json.dumps(schema.to_dict()))
    decoded = DiscoveredSchema.from_dict(encoded)

    assert decoded.tables == schema.tables
    assert encoded["fingerprint"] == schema.fingerprint()
    assert encoded["tables"][1] == {
        "schema": "public",
        "name": "b",
        "kind": "table",
        "columns": [["id", "int", False, None, 1]],
    }


def test_diff_reports_added_removed_and_changed_columns_and_keys() -> None:
    new_a = table("a", ("id", "bigint", False), ("email", "text", True), pk=("id", "email"))
    c = table("c", ("x", "int", True))

    diff = diff_schemas(DiscoveredSchema([A, B]), DiscoveredSchema([new_a, c]))

    assert diff.tables_added == ["public.c"] and diff.tables_removed == ["public.b"]
    [change] = diff.tables_changed
    assert change.columns_added == ["email"] and change.columns_removed == ["name"]
    assert change.columns_changed[0].name == "id"
    assert change.columns_changed[0].before == {"type": "int", "nullable": False}
    assert change.primary_key_changed is True
    assert diff.summary() == {
        "tablesAdded": 1,
        "tablesRemoved": 1,
        "tablesChanged": 1,
        "columnsAdded": 1,
        "columnsRemoved": 1,
        "columnsChanged": 1,
    }
    assert diff.to_dict()["tablesChanged"][0]["columnsChanged"][0]["after"]["type"] == "bigint"


def test_no_change_gives_an_empty_diff() -> None:
    assert diff_schemas(DiscoveredSchema([A, B]), DiscoveredSchema([B, A])).is_empty


def test_name_filter_globs_and_their_regex_agree() -> None:
    import re

    names = NameFilter(include=["sales.*", "hr.emp?", "x.[ab]*"], exclude=["*.tmp_*"])
    candidates = ["sales.orders", "sales.tmp_x", "hr.emp1", "hr.employees", "x.abc", "x.cde", "other.t"]

    selected = [n for n in candidates if names(n)]
    include, exclude = names.include_regex(), names.exclude_regex()
    assert include is not None and exclude is not None
    pushed_down = [n for n in candidates if re.match(include, n) and not re.match(exclude, n)]

    assert selected == ["sales.orders", "hr.emp1", "x.abc"]
    assert pushed_down == selected


def test_scrubber_masks_url_passwords_and_password_options_it_was_not_told_of() -> None:
    scrub = Scrubber(["p@ss w0rd!"])

    text = scrub("failed at postgresql://bob:other@h/db password=hunter2 token: abc")

    assert "other" not in text and "hunter2" not in text and "abc" not in text
    assert "postgresql://bob:***@h/db" in text


@pytest.mark.parametrize(
    "spelled",
    [
        lambda s: s,
        lambda s: urllib.parse.quote(s, safe=""),
        urllib.parse.quote_plus,
        repr,
        json.dumps,
        lambda s: json.dumps(s, ensure_ascii=False),
        lambda s: s.replace("'", "''"),
        lambda s: s.upper(),
    ],
)
def test_a_message_holding_a_secret_in_any_spelling_is_withheld_whole(spelled) -> None:
    secret = "p'@ss w0rd!\\é"
    scrub = Scrubber([secret])

    assert scrub(f"auth failed: {spelled(secret)} was refused") == WITHHELD


@pytest.mark.parametrize("secret", ["o", "ot", "ted"])
def test_a_short_secret_never_garbles_the_text_around_it(secret) -> None:
    # A one-character password masked inside words would read "connecto*** n***t supp***rted": a clue, not a scrub
    assert Scrubber([secret])("connector not supported yet") == WITHHELD


def test_user_names_are_masked_as_words_and_withheld_when_inside_other_words() -> None:
    assert Scrubber([], ["alice"])('password authentication failed for user "alice"') == (
        'password authentication failed for user "***"'
    )
    assert Scrubber([], ["post"])("the postgres server said no") == WITHHELD
