"""The one glob dialect of include/exclude patterns, compiled alike for Python, PostgreSQL and MariaDB.

A pattern matches a whole `schema.table` name, case-sensitively:
  `*` any run of characters (also none)    `?` exactly one character
  `[abc]`, `[a-z]` one character of the class; `[!a-z]` or `[^a-z]` one character not in it;
  a `]` right after `[`, `[!` or `[^` belongs to the class
  `\\x` the character x itself (so `\\*`, `\\?`, `\\[`, `\\\\` are literal)
Every other character, `_`, `%` and `.` included, stands for itself. A pattern is refused at write when its
class is not closed, a range runs backwards (`[z-a]`) or it ends with a lone backslash.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Engine = Literal["python", "postgres", "mariadb"]


@dataclass(frozen=True)
class _Any:
    many: bool  # `*` (True) or `?` (False)


@dataclass(frozen=True)
class _Class:
    negated: bool
    items: tuple[tuple[str, str], ...]  # (low, high); a single character is (c, c)


_Token = str | _Any | _Class


class GlobError(ValueError):
    pass


def parse(pattern: str) -> list[_Token]:
    """The pattern's tokens; GlobError (a ValueError) with the reason when it is not a pattern of the dialect."""
    tokens: list[_Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 == len(pattern):
                raise GlobError("ends with a lone backslash; write \\\\ for a backslash")
            tokens.append(pattern[i + 1])
            i += 2
        elif ch in "*?":
            tokens.append(_Any(many=ch == "*"))
            i += 1
        elif ch == "[":
            token, i = _parse_class(pattern, i + 1)
            tokens.append(token)
        else:
            tokens.append(ch)
            i += 1
    return tokens


def _parse_class(pattern: str, i: int) -> tuple[_Class, int]:
    negated = i < len(pattern) and pattern[i] in "!^"
    i += negated
    members: list[tuple[str, bool]] = []  # (character, whether it was written bare, so '-' may make a range)
    while True:
        if i >= len(pattern):
            raise GlobError("has a '[' class that is never closed with ']'; write \\[ for a bracket")
        ch = pattern[i]
        if ch == "]" and members:
            i += 1
            break
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise GlobError("has a '[' class that is never closed with ']'; write \\[ for a bracket")
            members.append((pattern[i + 1], False))
            i += 2
        else:
            members.append((ch, True))
            i += 1
    items: list[tuple[str, str]] = []
    k = 0
    while k < len(members):
        low = members[k][0]
        if k + 2 < len(members) and members[k + 1] == ("-", True):
            high = members[k + 2][0]
            if high < low:
                raise GlobError(f"has the range {low}-{high}, which runs backwards")
            items.append((low, high))
            k += 3
        else:
            items.append((low, low))
            k += 1
    return _Class(negated, tuple(items)), i


def check(pattern: str) -> str:
    parse(pattern)
    return pattern


def _literal(ch: str) -> str:
    # A backslash before an ASCII punctuation character means that character in Python's re, PostgreSQL's AREs
    # and PCRE alike, inside a class too; before a letter or digit it would be an escape such as \d, so letters,
    # digits and non-ASCII characters stay bare.
    return "\\" + ch if ch.isascii() and not ch.isalnum() else ch


def to_regex(pattern: str) -> str:
    """A regular expression (unanchored) matching exactly what the pattern matches, in Python, PostgreSQL and PCRE."""
    out: list[str] = []
    for token in parse(pattern):
        if isinstance(token, _Any):
            out.append(".*" if token.many else ".")
        elif isinstance(token, _Class):
            body = "".join(
                _literal(low) if low == high else f"{_literal(low)}-{_literal(high)}" for low, high in token.items
            )
            out.append(f"[{'^' if token.negated else ''}{body}]")
        else:
            out.append(_literal(token))
    return "".join(out)


# MariaDB's REGEXP is PCRE, case-insensitive under the default collations and with `.` stopping at a newline:
# the inline flags make it read the pattern as Python and PostgreSQL do.
_PREFIX: dict[Engine, str] = {"python": "", "postgres": "", "mariadb": "(?s-i)"}


def any_of_regex(patterns: Sequence[str], engine: Engine) -> str:
    """One anchored regex matching a whole name when any pattern does (for a catalog query's `~` or REGEXP)."""
    return _PREFIX[engine] + "^(" + "|".join(f"({to_regex(p)})" for p in patterns) + ")$"


def compile_any(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """For re.fullmatch (Python's `$` would also match before a final newline)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{to_regex(p)})" for p in patterns), re.DOTALL)
