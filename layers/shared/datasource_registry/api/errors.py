"""Refusals of the HTTP transport itself (who is calling, what body, which idempotency key): the API layer's errors.

The domain's errors (domain/errors.py) say what went wrong in the product's words; these say what was wrong with
the request as HTTP. api/problems.py maps both to problem JSON in one place.
"""

from __future__ import annotations


class RequestRefused(Exception):
    """Base of the transport's refusals; the detail is safe to show to the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthenticated(RequestRefused):
    """No token, or one the registry cannot read a tenant and role from."""


class UnsupportedMediaType(RequestRefused):
    """A body that is not JSON."""


class PayloadTooLarge(RequestRefused):
    """A body past the size the API accepts."""


class IdempotencyKeyReused(RequestRefused):
    """The Idempotency-Key was first used with a different request body."""


class RequestInProgress(RequestRefused):
    """The first request with this Idempotency-Key is still running; retry shortly."""
