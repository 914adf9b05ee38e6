"""Which tables a discovery keeps: include/exclude globs on "schema.table", and their catalog-query pushdown."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from datasource_registry import globs
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.discovered import Table


@dataclass(frozen=True)
class NameFilter:
    """include/exclude globs on "schema.table" (the one dialect of domain/globs.py); no include pattern means all."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _include: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _exclude: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_include", globs.compile_any(self.include))
            object.__setattr__(self, "_exclude", globs.compile_any(self.exclude))
        except ValueError as exc:  # only a record written before patterns were checked at write can get here
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"an include/exclude pattern {exc}") from None

    def __call__(self, qualified_name: str) -> bool:
        if self._include is not None and self._include.fullmatch(qualified_name) is None:
            return False
        return self._exclude is None or self._exclude.fullmatch(qualified_name) is None

    def apply(self, tables: Iterable[Table]) -> list[Table]:
        return [t for t in tables if self(t.qualified_name)]

    def include_regex(self, engine: globs.Engine = "postgres") -> str | None:
        """A regex equivalent to the include globs, for pushing the filter down to a catalog query."""
        return _pushed_down(self.include, engine)

    def exclude_regex(self, engine: globs.Engine = "postgres") -> str | None:
        return _pushed_down(self.exclude, engine)


# Past this, a catalog's regex engine may refuse the expression as too complex; the filter then runs here only.
MAX_PUSHED_DOWN_REGEX = 8000


def _pushed_down(patterns: Sequence[str], engine: globs.Engine) -> str | None:
    if not patterns:
        return None
    regex = globs.any_of_regex(patterns, engine)
    return regex if len(regex) <= MAX_PUSHED_DOWN_REGEX else None
