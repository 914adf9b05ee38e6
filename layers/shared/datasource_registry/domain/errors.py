"""Domain errors: what can go wrong in the product's words; api/problems.py maps them to HTTP once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose; the message is safe to show to the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    def __init__(self, errors: list[FieldError], detail: str = "The request is not valid.") -> None:
        super().__init__(detail)
        self.errors = errors


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    """A data source with the same key or name exists in the tenant."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.field = field


class VersionConflict(DomainError):
    """The caller's rowVersion (or If-Match) is stale; `current` is the stored state, as the caller may see it."""

    def __init__(self, current: Any) -> None:
        super().__init__("rowVersion mismatch.")
        self.current = current


class DependencyUnavailable(DomainError):
    """An AWS dependency failed; nothing was left half-written and the request may be retried."""


class DiscoveryFailed(DomainError):
    """The user's system could not be read; `code` is the connector's stable error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
