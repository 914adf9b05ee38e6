"""The one HTTP(S) client of the connectors (http_api, Elasticsearch, a schema registry, the SaaS engines).

The host is resolved once and checked against the network policy before anything connects; every connection, the
first (the call's "connect" stage) and any reconnect after the server closes a keep-alive connection, goes to that
pinned IP, with TLS SNI and the certificate check on the name the user gave (and an optional CA of the source's
own). http.client never resolves or connects by itself here. Socket reads are capped by the time left, every answer
is read within the deadline and bounded in size, and a request a kept-alive connection lost is sent once more on a
new connection.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import socket
import ssl
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import PinnedAddress, open_socket

MAX_BODY_BYTES = 16 * 1024 * 1024
USER_AGENT = "datasource-registry-connector/1"
STATUS_CODES = {401: ErrorCode.AUTH_FAILED, 403: ErrorCode.PERMISSION_DENIED, 404: ErrorCode.NOT_FOUND}
# A kept-alive connection the server closed while idle: the request is sent once more on a new connection.
_DROPPED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class BaseUrl:
    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash ("" for the root)


def configured_url(ctx: Context, default_port: int, path: str = "") -> str:
    """sourceConfig.url, or else https:// to the source's host and port (`default_port` when it has none)."""
    url = str(ctx.target.source_config.get("url") or "")
    if url:
        return url
    if not ctx.target.host:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.url or host is required")
    return f"https://{ctx.target.host}:{ctx.target.port or default_port}{path}"


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


def refuse_line_breaks(values: Mapping[str, str], message: str) -> None:
    """INVALID_CONFIG when a header value (a credential, a setting) would split the request."""
    if any("\r" in v or "\n" in v for v in values.values()):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, message)


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise ConnectorError(
                ErrorCode.PROTOCOL_ERROR, f"the server answered {self.status} with a body that is not JSON"
            ) from None

    def json_or_none(self) -> Any:
        """The body as JSON, None when it is not (an error answer's details are optional)."""
        try:
            return self.json()
        except ConnectorError:
            return None


class _Connection(http.client.HTTPConnection):
    """http.client over our own socket to the pinned address: connect() never resolves the name."""

    def __init__(self, client: PinnedClient) -> None:
        super().__init__(client.host, client.port, timeout=None)
        self._client = client

    def connect(self) -> None:
        self.sock = self._client.open_socket()


class PinnedClient:
    """Keep-alive HTTP(S) to one pinned address; reconnects go to the same address, never resolving again.

    `budget` gives the seconds a request may still take (raising TIMEOUT when none are left): the source's query
    timeout capped by the deadline unless the caller says otherwise.
    """

    max_body_bytes = MAX_BODY_BYTES  # an answer's bound unless a request says otherwise

    def __init__(
        self,
        ctx: Context,
        host: str,
        port: int,
        address: PinnedAddress,
        *,
        tls: bool,
        ca_certificate: str | None = None,
        budget: Callable[[], float] | None = None,
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.address = address
        self.tls = tls
        self._ca = ca_certificate
        self._budget = budget or ctx.query_timeout
        self._opened = False
        self._answered = False  # the open connection has carried an answer (the server may close it when idle)
        self._connection = _Connection(self)
        ctx.resources.callback(self._connection.close)

    def sibling(self) -> Self:
        """Another connection to the same pinned address (no new resolution), for requests in parallel."""
        other = copy.copy(self)
        other._opened, other._answered = True, False
        other._connection = _Connection(other)
        self.ctx.resources.callback(other._connection.close)
        return other

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._ca:
            try:
                context.load_verify_locations(cadata=self._ca)
            except (ssl.SSLError, ValueError):
                raise ConnectorError(ErrorCode.INVALID_CONFIG, "caCertificate is not a PEM certificate") from None
        return context

    def open_socket(self) -> socket.socket:
        """TCP (and TLS) to the pinned address; the first one is the call's "connect" stage."""
        if not self._opened:
            self._opened = True
            with self.ctx.stage("connect"):
                return self._open(self.ctx.connect_timeout())
        return self._open(min(float(self.ctx.target.connection_timeout), self.ctx.query_timeout()))

    def _open(self, timeout: float) -> socket.socket:
        context = self._tls_context() if self.tls else None
        sock = open_socket(self.address, timeout)
        self.ctx.resources.callback(sock.close)
        if context is None:
            return sock
        try:
            sock.settimeout(max(timeout, 0.1))
            tls = context.wrap_socket(sock, server_hostname=self.host)  # SNI and cert check: the name, not the IP
        except BaseException:
            sock.close()
            raise
        self.ctx.resources.callback(tls.close)
        return tls

    def connect(self) -> None:
        """Open the connection now (for a connection test's own "connect" stage)."""
        if self._connection.sock is None:
            self._connection.connect()

    def send(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> http.client.HTTPResponse:
        """Send a request and read the answer's status and headers (its body is `read_body`'s)."""
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        refuse_line_breaks(sent, "a credential or setting must not contain line breaks")
        for attempt in (1, 2):
            budget = self._budget()
            reused = self._connection.sock is not None and self._answered
            self.connect()
            assert self._connection.sock is not None
            self._connection.sock.settimeout(max(budget, 0.1))
            try:
                self._connection.request(method, path, body=body, headers=sent)
                return self._connection.getresponse()
            except _DROPPED:
                self._connection.close()
                if attempt == 2 or not reused:
                    raise
            except http.client.HTTPException as exc:
                self._connection.close()
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"not an HTTP answer: {type(exc).__name__}") from None
            except BaseException:
                self._connection.close()
                raise
        raise AssertionError("unreachable")

    def read_body(self, response: http.client.HTTPResponse, max_bytes: int) -> bytes:
        """The whole body (gunzipped if the server gzip'd it), at most `max_bytes`, read within the budget."""
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                self._budget()  # raises TIMEOUT once no time is left
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"an answer is larger than {max_bytes} bytes")
                chunks.append(chunk)
            response.read()  # marks the answer done, so the connection can carry the next request
        except BaseException:
            self._connection.close()
            raise
        if response.will_close:
            self._connection.close()
        self._answered = not response.will_close
        return _decoded(b"".join(chunks), response.getheader("Content-Encoding") or "", max_bytes)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        response = self.send(method, path, headers, body)
        data = self.read_body(response, self.max_body_bytes if max_bytes is None else max_bytes)
        return Response(response.status, response.reason, {k.lower(): v for k, v in response.getheaders()}, data)


def _decoded(data: bytes, encoding: str, max_bytes: int) -> bytes:
    if encoding.lower() != "gzip":
        return data
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "a gzip'd answer cannot be read") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"an answer is larger than {max_bytes} bytes")
    return out


class PinnedHttp:
    """GETs under a base URL (Elasticsearch, a schema registry): resolved and connected on first use."""

    def __init__(self, ctx: Context, base: BaseUrl, headers: dict[str, str]) -> None:
        refuse_line_breaks(headers, "credentials must not contain line breaks")
        self.ctx = ctx
        self.base = base
        self.headers = headers
        self._client: PinnedClient | None = None

    @property
    def tls(self) -> bool:
        return self.base.scheme == "https"

    def open(self) -> None:
        """The "resolve" and "connect" stages: pin the host, connect (and handshake TLS) once."""
        address = self.ctx.reach(self.base.host, self.base.port)
        self._client = PinnedClient(self.ctx, self.base.host, self.base.port, address, tls=self.tls)
        self._client.connect()

    def get(self, path: str, *, max_bytes: int = MAX_BODY_BYTES) -> Response:
        """GET base path + `path`; the socket timeout and the whole read are bounded by the deadline."""
        if self._client is None:
            self.open()
        assert self._client is not None
        return self._client.request("GET", self.base.path + path, headers=self.headers, max_bytes=max_bytes)


def status_code(status: int) -> ErrorCode | None:
    """The stable code an HTTP status says by itself (None for the rest)."""
    return ErrorCode.TIMEOUT if status in {408, 504} else STATUS_CODES.get(status)


def status_error(status: int, reason: str, detail: str = "") -> ConnectorError:
    """The stable code of an HTTP error status, with what the server said."""
    text = f"the server answered {status} {reason}".rstrip()
    return ConnectorError(status_code(status) or ErrorCode.PROTOCOL_ERROR, f"{text}: {detail}" if detail else text)
