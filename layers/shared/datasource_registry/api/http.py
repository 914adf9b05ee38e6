"""The endpoint decorator: API Gateway HTTP API (payload 2.0) event in, typed Request, problem JSON on any error."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from datasource_registry.api import problems
from datasource_registry.api.errors import PayloadTooLarge, RequestRefused, Unauthenticated, UnsupportedMediaType
from datasource_registry.api.observability import logger, metrics, tracer
from datasource_registry.domain.errors import (
    DependencyUnavailable,
    DomainError,
    FieldError,
    Forbidden,
    ValidationFailed,
)
from datasource_registry.domain.principal import CALLER, Principal
from datasource_registry.domain.types import Role

MAX_BODY_BYTES = 256 * 1024
MAX_PARAMETER_LENGTH = 1024
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)
_ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class JsonText(str):
    """A body already serialized as JSON (by pydantic-core, in one pass): sent as it is, not encoded again."""

    __slots__ = ()


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_api_gateway(self) -> dict[str, Any]:
        headers = dict(self.headers)
        if self.body is None:
            return {"statusCode": self.status, "headers": headers, "body": ""}
        headers.setdefault("content-type", "application/json")
        body = self.body if isinstance(self.body, JsonText) else json.dumps(self.body, separators=(",", ":"))
        return {"statusCode": self.status, "headers": headers, "body": str(body)}


@dataclass
class Request:
    principal: Principal
    headers: Mapping[str, str]
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    context: LambdaContext | None = None  # for work that must finish within the invocation
    request_id: str | None = None  # API Gateway's requestContext.requestId, recorded on what the request starts
    declared_headers: frozenset[str] = frozenset()  # lower-case names of the headers the endpoint's Doc declares

    def seconds_left(self, margin: float = 2.0) -> float:
        """What is left of the function's own timeout, less a margin to record the outcome and answer."""
        if self.context is None:
            return 25.0
        return max(0.5, self.context.get_remaining_time_in_millis() / 1000 - margin)

    def header(self, name: str) -> str | None:
        """A header the endpoint's Doc declares: one it does not is a programming error, so the OpenAPI document
        (and every client generated from it) names each header a handler reads."""
        key = name.lower()
        if key not in self.declared_headers:
            raise LookupError(f"the endpoint reads header {name!r} without declaring it in its Doc")
        return self.headers.get(key)

    def path_param(self, name: str) -> str:
        return self.path[name]

    def query_param(self, name: str, *, required: bool = False) -> str | None:
        value = self.query.get(name)
        if required and not value:
            raise ValidationFailed(
                [FieldError(name, "query parameter is required")], f"Missing query parameter {name!r}."
            )
        return value

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default  # an empty value ("limit=") is not a number: it is refused below
        if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
            raise ValidationFailed([FieldError(name, f"must be a whole number from {low} to {high}")])
        return int(raw)

    def expected_version(self, body_version: Any = None) -> int | None:
        """rowVersion from the body or an If-Match ETag; when both are given they must agree."""
        header = self.header(IF_MATCH.name)
        from_header = None
        if header is not None:
            match = re.fullmatch(r'\s*(?:W/)?"(\d{1,12})"\s*', header)
            if not match:
                raise ValidationFailed([FieldError("If-Match", 'must be an ETag as returned by GET, e.g. "3"')])
            from_header = int(match.group(1))
        if body_version is not None and (isinstance(body_version, bool) or not isinstance(body_version, int)):
            raise ValidationFailed([FieldError("rowVersion", "must be an integer")])
        if from_header is not None and body_version is not None and from_header != body_version:
            raise ValidationFailed([FieldError("If-Match", "disagrees with rowVersion in the body")])
        return from_header if from_header is not None else body_version


def etag(row_version: int) -> str:
    return f'"{row_version}"'


def principal_from(event: Mapping[str, Any]) -> Principal:
    """The caller as API Gateway's JWT authorizer verified them; claim names are configurable (Cognito style)."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    if not claims:
        raise Unauthenticated("A valid bearer token is required.")
    subject = str(claims.get(os.environ.get("DS_CLAIM_SUBJECT", "sub")) or "")
    tenant = str(claims.get(os.environ.get("DS_CLAIM_TENANT", "tenant_id")) or "")
    raw_role = str(claims.get(os.environ.get("DS_CLAIM_ROLE", "role")) or "")
    if not subject:
        raise Unauthenticated("The token has no subject.")
    if not tenant or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", tenant):
        raise Forbidden("The token names no organisation this service knows.")
    # API Gateway passes list claims (e.g. cognito:groups) as "[a b]"; the strongest known role wins.
    names = [part for part in re.split(r"[\s,\[\]\"]+", raw_role) if part]
    roles = [Role(name) for name in names if name in Role._value2member_map_]
    if not roles:
        raise Forbidden("The token carries no role of viewer, editor or admin.")
    request_id = (event.get("requestContext") or {}).get("requestId")
    return Principal(
        subject=subject,
        tenant_id=tenant,
        role=max(roles, key=_ROLE_RANK.__getitem__),
        request_id=str(request_id)[:128] if request_id else None,
    )


def _check_parameters(values: Mapping[str, str], where: str) -> None:
    for name, value in values.items():
        if len(value) > MAX_PARAMETER_LENGTH or any(ord(ch) < 32 for ch in value):
            raise ValidationFailed([FieldError(name, f"{where} parameter is too long or contains control characters")])


def _json_body(event: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    raw = event.get("body")
    if raw is None or raw == "":
        raise ValidationFailed([FieldError("body", "a JSON body is required")], "The request has no body.")
    if not _JSON_TYPE.match(headers.get("content-type", "")):
        raise UnsupportedMediaType("Content-Type must be application/json.")
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
    except (binascii.Error, ValueError):
        raise ValidationFailed([FieldError("body", "is not valid base64")]) from None
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes.")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        reason = "is nested too deeply" if isinstance(exc, RecursionError) else f"is not valid JSON: {exc}"
        raise ValidationFailed([FieldError("body", reason)], "The body is not valid JSON.") from None
    where = _unencodable(document, "")
    if where is not None:
        # JSON may spell a lone surrogate (\ud800); no store, log or AWS call can encode it as UTF-8.
        raise ValidationFailed([FieldError(where or "body", "must not contain a lone surrogate (\\ud800-\\udfff)")])
    return document


def _unencodable(node: Any, path: str) -> str | None:
    """The path of the first string (or object key) holding a lone surrogate, else None."""
    stack: list[tuple[Any, str]] = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return where
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{where}.{key}" if where else str(key)
                if _SURROGATE.search(key):
                    return where or "body"
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class QueryParam:
    """A query parameter an endpoint reads, as the OpenAPI document declares it."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Header:
    """A request header an endpoint reads, as the OpenAPI document declares it (generated clients send it)."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


IF_MATCH = Header("If-Match", 'ETag from GET (e.g. "3"); a stale one is a 409 conflict.')


@dataclass(frozen=True)
class Doc:
    """What the OpenAPI document says of an endpoint; the route itself comes from template.yaml."""

    summary: str
    request: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    query: tuple[QueryParam, ...] = ()
    headers: tuple[Header, ...] = ()
    problems: tuple[int, ...] = ()  # problem statuses beyond those the OpenAPI generator derives from the route
    problem_model: type[BaseModel] | None = None  # a dialect's problem JSON with members of its own (error_shape)


def endpoint(
    *,
    doc: Doc,
    body: bool = False,
    render: Callable[[Any], Any] = lambda value: value,
    reads_only: bool = False,
    error_shape: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Callable[[Request], Response]], LambdaHandler]:
    """Wrap a handler function: Powertools decorators, parsing, auth, and one place that maps errors to HTTP.

    Every method but GET changes data (a `reads_only` POST such as 002's filter does not): the caller's role is
    checked before the body is read or an Idempotency-Key replayed, so a viewer learns nothing from a write.
    `error_shape` adds a dialect's own error members to the problem JSON (001's `success`, `message`, `error.code`).
    """

    if error_shape is not None and doc.problem_model is None:
        raise TypeError("an endpoint that reshapes its problems must document their model (Doc.problem_model)")

    declared = frozenset(header.name.lower() for header in doc.headers)

    def decorate(function: Callable[[Request], Response]) -> LambdaHandler:
        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False)
        @metrics.log_metrics
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            response = _invoke(function, event, context, body, render, reads_only, declared)
            if error_shape is not None and response.headers.get("content-type") == "application/problem+json":
                response = Response(response.status, error_shape(response.status, response.body), response.headers)
            # Disabled metrics are never flushed, so Powertools would pile values up and serialize them at 100.
            if is_metrics_disabled():
                metrics.clear_metrics()
            metrics.add_metric(name=f"Http{response.status // 100}xx", unit=MetricUnit.Count, value=1)
            return response.to_api_gateway()

        handler.openapi = doc  # read by bench/ and the OpenAPI generator
        return cast(LambdaHandler, handler)

    return decorate


def where(error: BaseException) -> list[str]:
    """An exception's frames as `file:line function`, without its message or locals."""
    import traceback

    return [
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
    ]


def _invoke(
    function: Callable[[Request], Response],
    event: Mapping[str, Any],
    context: LambdaContext | None,
    body: bool,
    render: Callable[[Any], Any],
    reads_only: bool = False,
    declared_headers: frozenset[str] = frozenset(),
) -> Response:
    try:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        principal = principal_from(event)
        method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "GET").upper()
        if method != "GET" and not reads_only:
            principal.require_write()
        path = dict(event.get("pathParameters") or {})
        query = dict(event.get("queryStringParameters") or {})
        _check_parameters(path, "path")
        _check_parameters(query, "query")
        request_id = (event.get("requestContext") or {}).get("requestId")
        request = Request(
            principal,
            headers,
            path,
            query,
            _json_body(event, headers) if body else None,
            context,
            str(request_id) if request_id else None,
            declared_headers,
        )
        logger.append_keys(tenant_id=principal.tenant_id)
        caller = CALLER.set(principal)
        try:
            return function(request)
        finally:
            CALLER.reset(caller)
    except (DomainError, RequestRefused) as error:
        status, payload = problems.from_error(error, render)
        logger.info("request refused", extra={"status": status, "problem": payload["type"]})
        return Response(status, payload, {"content-type": "application/problem+json"})
    except (ClientError, BotoCoreError) as error:
        # An AWS dependency failed after botocore's retries; the write paths left nothing half-done.
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
        logger.warning("AWS dependency failed", extra={"aws_error": code})
        status, payload = problems.from_error(
            DependencyUnavailable("A dependency is unavailable; retry later."), render
        )
        return Response(status, payload, {"content-type": "application/problem+json", "retry-after": "1"})
    except Exception as error:
        # The text of an unexpected exception may quote input (urllib quotes a whole netloc, password and all):
        # the log says what and where, never the message.
        logger.error("unhandled error", extra={"error_type": type(error).__name__, "trace": where(error)})
        return Response(500, problems.INTERNAL_ERROR, {"content-type": "application/problem+json"})
