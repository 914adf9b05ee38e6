"""Idempotency-Key for POST creates: Powertools' idempotent_function keyed by tenant + key, payload-validated."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datasource_registry.api.errors import IdempotencyKeyReused, RequestInProgress
from datasource_registry.api.http import Header, Request, Response
from datasource_registry.domain.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

IDEMPOTENCY_HEADER = Header(
    "Idempotency-Key",
    "Any unique string (e.g. a UUID); a retry with the same key and body returns the first answer and creates "
    "nothing new; the same key with another body is refused (422). Kept for 24 hours.",
)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
RETENTION_SECONDS = 24 * 3600


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, dict):
        response["headers"] = {**response.get("headers", {}), "idempotent-replayed": "true"}
    return response


def _config(request: Request) -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    # The record key is a hash of [tenant, key]: two tenants using the same key never meet; the body is validated.
    config = IdempotencyConfig(
        event_key_jmespath="[tenant, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_SECONDS,
        response_hook=_mark_replay,
    )
    if request.context is not None:
        # An invocation that dies mid-create leaves its key "in progress" only until its own timeout.
        config.register_lambda_context(request.context)
    return config


def idempotent(
    request: Request,
    scope: str,
    store: Callable[[], BasePersistenceLayer],
    create: Callable[[], Response],
) -> Response:
    """Run `create` once per (tenant, Idempotency-Key); without the header it simply runs.

    A create that fails with a problem is not remembered (Powertools deletes the record), so fixing the body
    and retrying with the same key works.
    """
    key = request.header(IDEMPOTENCY_HEADER.name)
    if key is None:
        return create()
    if not _KEY.match(key):
        raise ValidationFailed([FieldError("Idempotency-Key", "must be 1-255 visible ASCII characters")])
    # Imported only when a request carries the header: the utility costs a create's cold start otherwise.
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    def run(request_record: dict[str, Any]) -> dict[str, Any]:
        response = create()
        return {"status": response.status, "body": response.body, "headers": response.headers}

    once = idempotent_function(
        run,
        data_keyword_argument="request_record",
        persistence_store=store(),
        config=_config(request),
        key_prefix=scope,
    )
    try:
        answer = once(request_record={"tenant": request.principal.tenant_id, "key": key, "body": request.body})
    except IdempotencyValidationError:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body.") from None
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress("A request with this Idempotency-Key is still in progress; retry shortly.") from None
    return Response(int(answer["status"]), answer["body"], dict(answer["headers"]))
