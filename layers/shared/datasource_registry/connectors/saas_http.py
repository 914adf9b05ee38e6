"""HTTPS to a SaaS engine's API (Snowflake's SQL API, BigQuery, Salesforce), with nothing but the standard library.

Every connection goes to an address resolved once and checked against the network policy (metadata addresses
never), with the host name kept for SNI and the certificate check; http.client never resolves or connects by
itself. A host is the engine's own (`*.snowflakecomputing.com`, `*.googleapis.com`, `*.salesforce.com` ...) or,
for a private endpoint or a proxy, any host whose address the network policy explicitly allows (its
`allowed_cidrs`; a public address of some other domain is refused). Bodies are bounded, every read is bounded by
the call's deadline, and JWTs are signed here with `cryptography` (RS256), so no vendor SDK is needed.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import ipaddress
import json
import socket
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import PinnedAddress, normalize_host, open_socket, resolve_pinned

MAX_BODY_BYTES = 32 * 1024 * 1024
USER_AGENT = "datasource-registry-connector/1"


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise ConnectorError(
                ErrorCode.PROTOCOL_ERROR, f"the server answered {self.status} with a body that is not JSON"
            ) from None


def is_engine_host(host: str, suffixes: tuple[str, ...]) -> bool:
    name = host.lower().rstrip(".")
    return any(name.endswith("." + suffix) or name == suffix for suffix in suffixes)


def split_url(url: str, what: str) -> tuple[str, int, str]:
    """host, port, path of an https:// URL (only https: every engine here speaks TLS)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} is not a valid URL") from None
    if parts.scheme != "https":
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} must not carry credentials")
    if not parts.hostname:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} has no host")
    return parts.hostname, port, parts.path.rstrip("/")


def _explicitly_allowed(ctx: Context, ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in net for net in ctx.policy.allowed_cidrs if net.version == address.version)


class _PinnedConnection(http.client.HTTPConnection):
    """http.client over our own TLS socket to the pinned address: connect() never resolves the name."""

    default_port = 443

    def __init__(self, session: HttpsSession) -> None:
        super().__init__(session.host, session.port)
        self._session = session

    def connect(self) -> None:
        self.sock = self._session.open_socket()


class HttpsSession:
    """One keep-alive HTTPS connection to one host of an engine; reconnects to the same pinned address."""

    def __init__(
        self,
        ctx: Context,
        host: str,
        port: int,
        *,
        engine: str,
        suffixes: tuple[str, ...],
        ca_certificate: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.host = normalize_host(host)
        self.port = port
        self._ca = ca_certificate
        with ctx.stage("resolve"):
            self.address = self._resolve(engine, suffixes)
        self._opened = False
        self._connection = _PinnedConnection(self)
        ctx.resources.callback(self._connection.close)

    def sibling(self) -> HttpsSession:
        """Another connection to the same pinned address (no new resolution), for requests in parallel."""
        other = object.__new__(HttpsSession)
        other.ctx, other.host, other.port, other._ca = self.ctx, self.host, self.port, self._ca
        other.address, other._opened = self.address, True
        other._connection = _PinnedConnection(other)
        self.ctx.resources.callback(other._connection.close)
        return other

    def _resolve(self, engine: str, suffixes: tuple[str, ...]) -> PinnedAddress:
        if self.ctx.target.use_ssh_tunnel:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{engine} is reached over HTTPS, not an SSH tunnel")
        address = resolve_pinned(self.host, self.port, self.ctx.policy, self.ctx.connect_timeout())
        if not is_engine_host(self.host, suffixes) and not _explicitly_allowed(self.ctx, address.ip):
            names = ", ".join(f"*.{s}" for s in suffixes)
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG,
                f"{self.host} is not a {engine} host ({names}); another host (a private endpoint or proxy) is"
                " reached only when the network policy allows its address",
            )
        return address

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._ca:
            try:
                context.load_verify_locations(cadata=self._ca)
            except (ssl.SSLError, ValueError):
                raise ConnectorError(ErrorCode.INVALID_CONFIG, "caCertificate is not a PEM certificate") from None
        return context

    def open_socket(self) -> socket.socket:
        """TCP + TLS to the pinned address; the first one is the call's "connect" stage."""
        if not self._opened:
            self._opened = True
            with self.ctx.stage("connect"):
                return self._open(self.ctx.connect_timeout())
        return self._open(min(float(self.ctx.target.connection_timeout), self.ctx.query_timeout()))

    def _open(self, timeout: float) -> socket.socket:
        context = self._tls_context()
        sock = open_socket(self.address, timeout)
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

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> Response:
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if any("\r" in v or "\n" in v for v in sent.values()):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "a credential or setting must not contain line breaks")
        for attempt in (1, 2):
            budget = self.ctx.query_timeout()
            self.connect()
            assert self._connection.sock is not None
            self._connection.sock.settimeout(max(budget, 0.1))
            try:
                self._connection.request(method, path, body=body, headers=sent)
                response = self._connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile: once more on a new one.
                self._connection.close()
                if attempt == 2:
                    raise
                continue
            except http.client.HTTPException as exc:
                self._connection.close()
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"not an HTTP answer: {type(exc).__name__}") from None
            data = self._read(response, max_bytes)
            response.read()  # marks the answer done, so the connection can carry the next request
            if response.will_close:
                self._connection.close()
            headers_in = {k.lower(): v for k, v in response.getheaders()}
            return Response(response.status, response.reason, headers_in, _decoded(data, headers_in, max_bytes))
        raise AssertionError("unreachable")

    def _read(self, response: http.client.HTTPResponse, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if self.ctx.overall_deadline is not None and time.monotonic() > self.ctx.overall_deadline:
                self._connection.close()
                raise ConnectorError(ErrorCode.TIMEOUT, "reading the answer took past the deadline")
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                self._connection.close()
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"an answer is larger than {max_bytes} bytes")
            chunks.append(chunk)


def _decoded(data: bytes, headers: Mapping[str, str], max_bytes: int) -> bytes:
    if headers.get("content-encoding", "").lower() != "gzip":
        return data
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, max_bytes + 1)
    except (zlib.error, gzip.BadGzipFile):
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "a gzip'd answer cannot be read") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"an answer is larger than {max_bytes} bytes")
    return out


# -- JWT (RS256) ------------------------------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(pem: str, passphrase: str | None, what: str) -> Any:
    """An RSA private key from PEM (PKCS#8 or PKCS#1, encrypted or not); INVALID_CONFIG, never the key, if not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    text = pem.strip().replace("\\n", "\n")
    try:
        key = serialization.load_pem_private_key(text.encode(), passphrase.encode() if passphrase else None)
    except (ValueError, TypeError):
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG, f"{what} is not a PEM private key (or its passphrase is wrong or missing)"
        ) from None
    except Exception:  # cryptography raises its own types for unsupported key formats
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} cannot be read as a private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{what} must be an RSA key (RS256)")
    return key


def rs256_jwt(claims: Mapping[str, Any], key: Any, header: Mapping[str, Any] | None = None) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    head = {"alg": "RS256", "typ": "JWT", **(header or {})}
    signing_input = (
        b64url(json.dumps(head, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def form(values: Mapping[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(dict(values)).encode()


def ca_certificate(ctx: Context) -> str | None:
    value = ctx.target.source_config.get("caCertificate")
    return value if isinstance(value, str) and value.strip() else None


def config_text(ctx: Context, name: str) -> str | None:
    value = ctx.target.source_config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} must be a string")
    return value


def secret_text(ctx: Context, name: str) -> str | None:
    """A secret setting (sourceConfig, as the registry puts it back in memory): registered with the scrubber."""
    value = config_text(ctx, name)
    ctx.scrub.add(value)
    return value


def timeout_code(status: int) -> ErrorCode | None:
    return ErrorCode.TIMEOUT if status in {408, 504} else None


# OAuth 2.0 token endpoint errors (RFC 6749 5.2) that mean the credentials were refused.
OAUTH_AUTH_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "invalid_client_id", "unauthorized_client", "invalid_request_token"}
)


def oauth_token(ctx: Context, session: HttpsSession, path: str, fields: Mapping[str, str], engine: str) -> Any:
    """POST a token request (form-encoded); the answer's JSON, every token in it registered with the scrubber."""
    for name in ("assertion", "client_secret", "refresh_token", "password"):
        ctx.scrub.add(fields.get(name))  # assertions, secrets and refresh tokens never appear in a message
    response = session.request(
        "POST", path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=form(fields)
    )
    document = response.json() if response.body.strip().startswith(b"{") else {}
    if isinstance(document, dict):
        for key in ("access_token", "refresh_token", "id_token"):
            if isinstance(document.get(key), str):
                ctx.scrub.add(document[key])
    if response.status == 200 and isinstance(document, dict) and isinstance(document.get("access_token"), str):
        return document
    error = str(document.get("error") or "") if isinstance(document, dict) else ""
    description = str(document.get("error_description") or "") if isinstance(document, dict) else ""
    code = ErrorCode.AUTH_FAILED if error in OAUTH_AUTH_ERRORS or response.status == 401 else None
    code = code or timeout_code(response.status) or ErrorCode.PROTOCOL_ERROR
    said = quoted(ctx, description, 200)
    raise ConnectorError(
        code,
        f"{engine}'s token endpoint answered {response.status}"
        + (f" {error}" if error else "")
        + (f": {said}" if said else ""),
    )


def quoted(ctx: Context, text: str, limit: int = 300) -> str:
    """What a server said, for a message: scrubbed whole first (a cut could leave part of a secret), then cut."""
    return ctx.scrub(" ".join(text.split()))[:limit]
