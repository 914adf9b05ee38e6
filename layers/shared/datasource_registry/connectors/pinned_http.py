"""A small JSON-over-HTTP(S) client for connectors that make several requests (Elasticsearch, a schema registry).

The host is resolved once and checked against the network policy (`Context.reach`); every connection, the first
and any reconnect after the server closes a keep-alive connection, goes to that pinned IP, with TLS SNI and the
certificate check on the name the user gave. http.client never resolves or connects by itself here.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import PinnedAddress, open_socket

MAX_BODY_BYTES = 16 * 1024 * 1024
STATUS_CODES = {401: ErrorCode.AUTH_FAILED, 403: ErrorCode.PERMISSION_DENIED, 404: ErrorCode.NOT_FOUND}


@dataclass(frozen=True)
class BaseUrl:
    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash ("" for the root)


def parse_base_url(ctx: Context, url: str, default_port: int, what: str) -> BaseUrl:
    """An http(s) URL with no credentials in it; INVALID_CONFIG otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} is not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        ctx.scrub.add(parts.password)
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"put credentials in the credentials, not in {what}")
    if not parts.hostname:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} has no host")
    if parts.query or parts.fragment:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} must not have a query or fragment")
    return BaseUrl(parts.scheme, parts.hostname, port or default_port, parts.path.rstrip("/"))


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "the server's answer is not JSON") from None


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection whose every (re)connect goes to the pinned address."""

    def __init__(self, client: PinnedHttp) -> None:
        super().__init__(client.base.host, client.base.port, timeout=None)
        self._client = client

    def connect(self) -> None:
        self.sock = self._client.reconnect()


class PinnedHttp:
    def __init__(self, ctx: Context, base: BaseUrl, headers: dict[str, str]) -> None:
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "credentials must not contain line breaks")
        self.ctx = ctx
        self.base = base
        self.headers = {"Accept": "application/json", "User-Agent": "datasource-registry-connector/1", **headers}
        self._address: PinnedAddress | None = None
        self._conn: _PinnedConnection | None = None

    @property
    def tls(self) -> bool:
        return self.base.scheme == "https"

    def open(self) -> None:
        """The "resolve" and "connect" stages: pin the host, connect (and handshake TLS) once."""
        self._address = self.ctx.reach(self.base.host, self.base.port)
        sock = self.ctx.open(self._address, tls_server_name=self.base.host if self.tls else None)
        conn = _PinnedConnection(self)
        conn.sock = sock
        self.ctx.resources.callback(conn.close)
        self._conn = conn

    def reconnect(self) -> socket.socket:
        """A new connection to the same pinned address (the server closed the previous one)."""
        assert self._address is not None
        timeout = min(float(self.ctx.target.connection_timeout), self.ctx.query_timeout())
        sock = open_socket(self._address, timeout)
        if self.tls:
            sock.settimeout(timeout)
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.base.host)
            except BaseException:
                sock.close()
                raise
        return sock

    def get(self, path: str, *, max_bytes: int = MAX_BODY_BYTES) -> Response:
        """GET base path + `path`; the socket timeout and the whole read are bounded by the deadline."""
        if self._conn is None:
            self.open()
        conn = self._conn
        assert conn is not None
        timeout = max(self.ctx.query_timeout(), 0.05)
        if conn.sock is None:
            conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(timeout)
        try:
            conn.request("GET", self.base.path + path, headers=self.headers)
            response = conn.getresponse()
            body = self._read(response, max_bytes)
            response.close()  # read to its end: the connection is free for the next request
        except http.client.HTTPException as exc:
            conn.close()
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"not an HTTP answer: {type(exc).__name__}") from None
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        return Response(response.status, response.reason, body)

    def _read(self, response: http.client.HTTPResponse, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            self.ctx.query_timeout()  # raises TIMEOUT once the deadline has passed
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"an answer is larger than {max_bytes} bytes")
            chunks.append(chunk)


def status_error(status: int, reason: str, detail: str = "") -> ConnectorError:
    """The stable code of an HTTP error status, with what the server said."""
    code = STATUS_CODES.get(status, ErrorCode.PROTOCOL_ERROR)
    if status in {408, 504}:
        code = ErrorCode.TIMEOUT
    text = f"the server answered {status} {reason}".rstrip()
    return ConnectorError(code, f"{text}: {detail}" if detail else text)
