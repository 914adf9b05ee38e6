"""HTTP APIs: GET the configured URL through the pinned address (pinned_http); discovery = top-level JSON fields."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.pinned_http import PinnedClient, configured_url, refuse_line_breaks, status_error
from datasource_registry.discovered import Column, DiscoveredSchema, Table

MAX_BODY_BYTES = 1024 * 1024
MAX_SAMPLED_ITEMS = 100
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _url(ctx: Context) -> tuple[str, str, int, str]:
    url = configured_url(ctx, 443, "/")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "the URL cannot be parsed") from None
    if parts.scheme not in {"http", "https"}:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "only http:// and https:// URLs are allowed")
    if parts.username is not None or parts.password is not None:
        ctx.scrub.add(parts.password)
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "put credentials in api_key or oauth_token, not in the URL")
    written_port = parts.netloc.rpartition("]")[2].rpartition("@")[2].partition(":")[2]
    try:
        if written_port and not (written_port.isascii() and written_port.isdigit()):
            raise ValueError("not ASCII digits")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "the URL has an invalid port") from None
    if not parts.hostname:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "the URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _headers(ctx: Context) -> dict[str, str]:
    headers: dict[str, str] = {}
    api_key = ctx.credential("api_key")
    if api_key:
        name = str(ctx.target.source_config.get("api_key_header") or "X-API-Key")
        if not _HEADER_NAME.match(name):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "source_config.api_key_header is not a valid header name")
        headers[name] = api_key
    token = ctx.credential("oauth_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    refuse_line_breaks(headers, "credentials must not contain line breaks")
    return headers


def _time_left(ctx: Context) -> Callable[[], float]:
    """One GET for a test: it must be done by the connect deadline."""

    def left() -> float:
        seconds = ctx.connect_timeout()
        if seconds <= 0:
            raise ConnectorError(ErrorCode.TIMEOUT, "reading the response took too long")
        return seconds

    return left


def _fetch(ctx: Context) -> tuple[http.client.HTTPResponse, bytes]:
    with ctx.stage("resolve"):
        scheme, host, port, path = _url(ctx)
        headers = _headers(ctx)
    address = ctx.reach(host, port)
    client = PinnedClient(ctx, host, port, address, tls=scheme == "https", budget=_time_left(ctx))
    client.connect()  # the "connect" stage
    with ctx.stage("authenticate"):
        response = client.send("GET", path, headers)
        ctx.details.update(status=response.status, contentType=response.getheader("Content-Type"))
        if 300 <= response.status < 400:
            location = response.getheader("Location") or ""
            ctx.details["redirectLocation"] = ctx.scrub(location)
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG,
                f"the server redirects ({response.status}) to {ctx.scrub(location)!r};"
                " redirects are not followed,"
                " configure the final URL",
            )
        if response.status >= 400:
            raise status_error(response.status, response.reason)
    with ctx.stage("metadata"):
        body = client.read_body(response, MAX_BODY_BYTES)
    return response, body


def check(ctx: Context) -> None:
    response, body = _fetch(ctx)
    ctx.server_version = response.getheader("Server")
    ctx.details["bytes"] = len(body)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    _, body = _fetch(ctx)
    with ctx.stage("metadata"):
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "the response is not JSON") from exc
        items = document[:MAX_SAMPLED_ITEMS] if isinstance(document, list) else [document]
        fields: dict[str, set[str]] = {}
        for item in items:
            if isinstance(item, dict):
                for key, value in item.items():
                    fields.setdefault(str(key), set()).add(json_type(value))
        columns = []
        for ordinal, (name, kinds) in enumerate(fields.items(), start=1):
            non_null = sorted(kinds - {"null"})
            type_name = non_null[0] if len(non_null) == 1 else ("mixed" if non_null else "null")
            present_everywhere = all(isinstance(i, dict) and i.get(name) is not None for i in items)
            columns.append(Column(name, type_name, not present_everywhere, None, ordinal))
        _, host, _, path = _url(ctx)
        name = path.split("?", 1)[0].strip("/") or "response"
        kind = "array" if isinstance(document, list) else "object"
    return DiscoveredSchema(
        [Table(host, name, "table", columns, [], len(document) if isinstance(document, list) else None)],
        details={"responseKind": kind, "durationMs": round((time.monotonic() - started) * 1000, 1)},
    )
