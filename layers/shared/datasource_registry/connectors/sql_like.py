"""include/exclude globs as SQL LIKE patterns, for catalogs without a usable regex (SQL Server,
Oracle, whose REGEXP_LIKE takes at most 512 bytes of pattern). Oracle's form needs `ESCAPE '\\'`; SQL Server's
escapes its wildcards in brackets (`[%]`) and keeps [a-z] classes.

A pushed-down filter may only ever keep MORE than the glob (NameFilter re-checks every row in Python): an include
pattern becomes a LIKE matching the same names or more, an exclude pattern is pushed only when its LIKE matches
exactly the same names, else left to Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from datasource_registry import globs

ESCAPE = "\\"
MAX_PUSHED_DOWN = 50  # patterns per query; past this the filter runs in Python only
R = TypeVar("R")


@dataclass(frozen=True)
class LikePattern:
    text: str
    exact: bool  # matches exactly the glob's names (else a superset)


def _escaped(ch: str, brackets: bool) -> str:
    if brackets:  # T-SQL's documented way: a wildcard in brackets is itself; no ESCAPE clause
        return f"[{ch}]" if ch in "%_[" else ch
    return ESCAPE + ch if ch in "%_\\" else ch


def like_of(pattern: str, *, brackets: bool) -> LikePattern:
    """The LIKE form of one glob; `brackets` when the engine's LIKE has [a-z] classes (SQL Server)."""
    out: list[str] = []
    exact = True
    for token in globs.parse(pattern):
        if isinstance(token, str):
            out.append(_escaped(token, brackets))
        elif isinstance(token, globs._Any):
            out.append("%" if token.many else "_")
        elif brackets and _plain_class(token):
            body = "".join(low if low == high else f"{low}-{high}" for low, high in token.items)
            out.append(f"[{'^' if token.negated else ''}{body}]")
        else:
            out.append("_")  # any one character: a superset of the class
            exact = False
    return LikePattern("".join(out), exact)


def _plain_class(token: globs._Class) -> bool:
    """A class T-SQL's LIKE reads as the glob does: no member its bracket syntax gives a meaning to."""
    members = {ch for item in token.items for ch in item}
    return not members & {"]", "[", "^", "-", "\\", "%", "_"}


def pushed_include(patterns: Sequence[str], *, brackets: bool) -> list[str] | None:
    """LIKE patterns whose OR keeps at least every included name; None when nothing can be pushed."""
    if not patterns or len(patterns) > MAX_PUSHED_DOWN:
        return None
    return [like_of(p, brackets=brackets).text for p in patterns]


def pushed_exclude(patterns: Sequence[str], *, brackets: bool) -> list[str]:
    """LIKE patterns whose names are exactly the excluded ones (inexact ones stay with NameFilter)."""
    likes = [like_of(p, brackets=brackets) for p in patterns[:MAX_PUSHED_DOWN]]
    return [like.text for like in likes if like.exact]


def where(
    clauses: list[str],
    params: dict[str, str],
    include: Sequence[str],
    exclude: Sequence[str],
    *,
    brackets: bool,
    condition: Callable[[str], str],
) -> tuple[str, dict[str, str]]:
    """`clauses` AND the pushed-down globs, and all their parameters: `condition(parameter name)` is one LIKE test
    (fixed SQL); the include patterns are OR-ed (parameters i0..), the exact exclude ones NOT OR-ed (e0..)."""
    clauses, params = list(clauses), dict(params)
    for prefix, likes, negate in (
        ("i", pushed_include(include, brackets=brackets) or [], False),
        ("e", pushed_exclude(exclude, brackets=brackets), True),
    ):
        if likes:
            params.update({f"{prefix}{n}": like for n, like in enumerate(likes)})
            tests = " OR ".join(condition(f"{prefix}{n}") for n in range(len(likes)))
            clauses.append(f"NOT ({tests})" if negate else f"({tests})")
    return " AND ".join(clauses), params


def fetched(cursor: Any, size: int) -> Iterator[Any]:
    """A DB-API cursor's rows, `size` at a time (bounded memory)."""
    while batch := cursor.fetchmany(size):
        yield from batch


def bounded(rows: Sequence[R], keep: Callable[[R], bool], limit: int) -> tuple[list[R], dict[str, Any]]:
    """The catalog's table rows `keep` accepts, at most `limit` (the query asked for limit + 1 to know it was
    reached), and the details saying so."""
    kept = [row for row in rows if keep(row)]
    if len(rows) > limit:
        return kept[:limit], {"truncatedAt": limit}
    return kept, {}
