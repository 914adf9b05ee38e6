"""The literal start of an include/exclude glob: which schemas (databases, keyspaces) a pattern can reach, so a
connector whose catalogue is queried one schema at a time skips the others and pushes the rest of a pattern down."""

from __future__ import annotations

from datasource_registry.connectors.names import NameFilter


def might_match(names: NameFilter, database: str) -> bool:
    """False when no include pattern can match a collection of `database` (its literal start names another)."""
    if not names.include:
        return True
    head = database + "."
    for pattern in names.include:
        prefix, rest = literal_prefix(pattern)
        if prefix.startswith(head) or (rest is not None and head.startswith(prefix)):
            return True
    return False


def literal_prefix(pattern: str) -> tuple[str, str | None]:
    """(the characters a glob starts with literally, the pattern text from its first wildcard or class on, or None
    when the whole pattern is literal)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
        elif ch in "*?[":
            return "".join(out), pattern[i:]
        else:
            out.append(ch)
            i += 1
    return "".join(out), None


def escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\*?[" else ch for ch in text)
