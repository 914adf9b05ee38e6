"""002's filter wildcards: `*` as exact, prefix, suffix or contains match, and the literal prefix an index can seek to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.names import name_identity

MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 255


@dataclass(frozen=True)
class Wildcard:
    """A case-insensitive pattern where `*` stands for any run of characters (including none)."""

    pattern: str

    @property
    def folded(self) -> str:
        # The form names are unique in (domain/names.py), so a fullwidth 'Source*' finds 'source' as the name markers hold it.
        return name_identity(self.pattern)

    @property
    def seek_prefix(self) -> str:
        """The literal text before the first `*`: an index range that holds every match."""
        return self.folded.split("*", 1)[0]

    def matches(self, value: str) -> bool:
        regex = ".*".join(re.escape(part) for part in self.folded.split("*"))
        return re.fullmatch(regex, name_identity(value), flags=re.DOTALL) is not None


def wildcards(values: object, field: str) -> list[Wildcard]:
    """A filter list from a request body, validated; duplicates dropped so each costs one index read."""
    if values is None:
        return []
    if not isinstance(values, list) or len(values) > MAX_PATTERNS:
        raise ValidationFailed([FieldError(field, f"must be a list of at most {MAX_PATTERNS} patterns")])
    result: list[Wildcard] = []
    for index, value in enumerate(values):
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_PATTERN_LENGTH:
            raise ValidationFailed([FieldError(f"{field}[{index}]", f"must be 1-{MAX_PATTERN_LENGTH} characters")])
        if any(ord(ch) < 32 for ch in value):
            raise ValidationFailed([FieldError(f"{field}[{index}]", "must not contain control characters")])
        if Wildcard(value) not in result:
            result.append(Wildcard(value))
    return result
