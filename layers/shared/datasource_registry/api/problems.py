"""The one mapping from domain errors and the transport's refusals to HTTP answers (RFC 9457 problem JSON), shared by every handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from datasource_registry.api import errors as refusals
from datasource_registry.api.errors import RequestRefused
from datasource_registry.domain import errors
from datasource_registry.domain.errors import FieldError

PROBLEM_TYPE = "urn:datasource-registry:problem:"

# error class -> (status, type slug, title)
_STATUS: dict[type[errors.DomainError | RequestRefused], tuple[int, str, str]] = {
    errors.ValidationFailed: (400, "validation", "Validation failed"),
    refusals.Unauthenticated: (401, "unauthenticated", "Authentication required"),
    errors.Forbidden: (403, "forbidden", "Forbidden"),
    errors.NotFound: (404, "not-found", "Not found"),
    errors.AlreadyExists: (409, "already-exists", "Already exists"),
    errors.VersionConflict: (409, "version-conflict", "Optimistic concurrency conflict"),
    refusals.PayloadTooLarge: (413, "payload-too-large", "Payload too large"),
    refusals.UnsupportedMediaType: (415, "unsupported-media-type", "Unsupported media type"),
    errors.DiscoveryFailed: (422, "discovery-failed", "Schema discovery failed"),
    errors.DependencyUnavailable: (503, "dependency-unavailable", "Service unavailable"),
    refusals.IdempotencyKeyReused: (422, "idempotency-key-reused", "Idempotency key reused"),
    refusals.RequestInProgress: (409, "request-in-progress", "Request in progress"),
}


class ProblemField(BaseModel):
    """One field-level reason of a 400."""

    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every 4xx and 5xx answer (a dialect may add members of its own)."""

    model_config = ConfigDict(defer_build=True)
    type: str
    title: str
    status: int
    detail: str
    errors: Annotated[list[ProblemField] | None, Field(default=None, description="400: a reason per field.")]
    current: Annotated[
        dict[str, Any] | None, Field(default=None, description="409 version conflict: the source as it is now.")
    ]
    error_code: Annotated[
        str | None, Field(default=None, alias="errorCode", description="422 discovery failed: why, as a code.")
    ]


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": PROBLEM_TYPE + slug, "title": title, "status": status, "detail": detail, **extra}


def field_list(items: list[FieldError]) -> list[dict[str, str]]:
    return [{"field": item.field, "reason": item.reason} for item in items]


def from_error(error: errors.DomainError | RequestRefused, render: Callable[[Any], Any]) -> tuple[int, dict[str, Any]]:
    """`render` turns a domain object into the dialect's view, for the `current` of a version conflict."""
    status, slug, title = next(
        (value for cls, value in _STATUS.items() if isinstance(error, cls)),
        (400, "bad-request", "Bad request"),
    )
    extra: dict[str, Any] = {}
    if isinstance(error, errors.ValidationFailed):
        extra["errors"] = field_list(error.errors)
    elif isinstance(error, errors.AlreadyExists):
        extra["errors"] = [{"field": error.field, "reason": "is already used by another data source"}]
    elif isinstance(error, errors.DiscoveryFailed):
        extra["errorCode"] = error.code
    elif isinstance(error, errors.VersionConflict):
        extra["current"] = render(error.current)
    return status, problem(status, slug, title, error.detail, **extra)


INTERNAL_ERROR = problem(500, "internal", "Internal error", "An unexpected error occurred; it has been logged.")
