"""HTTPS to a SaaS engine's API (Snowflake's SQL API, BigQuery, Salesforce), with nothing but the standard library.

The connections are pinned_http's (an address resolved once and checked against the network policy, metadata
addresses never; the host name kept for SNI and the certificate check; reads bounded by the deadline). A host is the engine's own (`*.snowflakecomputing.com`, `*.googleapis.com`, `*.salesforce.com` ...) or,
for a private endpoint or a proxy, any host whose address the network policy explicitly allows (its
`allowed_cidrs`; a public address of some other domain is refused). Bodies are bounded, every read is bounded by
the call's deadline, and JWTs are signed here with `cryptography` (RS256), so no vendor SDK is needed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import PinnedAddress, normalize_host, resolve_pinned
from datasource_registry.connectors.pinned_http import PinnedClient

MAX_BODY_BYTES = 32 * 1024 * 1024


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


class HttpsSession(PinnedClient):
    """One keep-alive HTTPS connection to one host of an engine (or an explicitly allowed one), pinned."""

    max_body_bytes = MAX_BODY_BYTES

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
        host = normalize_host(host)
        with ctx.stage("resolve"):
            address = _resolve(ctx, host, port, engine, suffixes)
        super().__init__(ctx, host, port, address, tls=True, ca_certificate=ca_certificate)


def _resolve(ctx: Context, host: str, port: int, engine: str, suffixes: tuple[str, ...]) -> PinnedAddress:
    if ctx.target.use_ssh_tunnel:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{engine} is reached over HTTPS, not an SSH tunnel")
    address = resolve_pinned(host, port, ctx.policy, ctx.connect_timeout())
    if not is_engine_host(host, suffixes) and not _explicitly_allowed(ctx, address.ip):
        names = ", ".join(f"*.{s}" for s in suffixes)
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            f"{host} is not a {engine} host ({names}); another host (a private endpoint or proxy) is"
            " reached only when the network policy allows its address",
        )
    return address


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


def answered(
    ctx: Context, who: str, status: int, code: ErrorCode | None, what: str, message: str, limit: int = 300
) -> ConnectorError:
    """`<who> answered <status><what>: <message>` (the message scrubbed and cut) under `code` (or PROTOCOL_ERROR)."""
    said = quoted(ctx, message, limit)
    return ConnectorError(
        code or ErrorCode.PROTOCOL_ERROR, f"{who} answered {status}{what}" + (f": {said}" if said else "")
    )


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
    what = f" {error}" if error else ""
    raise answered(
        ctx,
        f"{engine}'s token endpoint",
        response.status,
        code or timeout_code(response.status),
        what,
        description,
        200,
    )


def as_int(value: Any) -> int | None:
    """A count as the API gave it (a number or a string of digits); None when it is none."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def quoted(ctx: Context, text: str, limit: int = 300) -> str:
    """What a server said, for a message: scrubbed whole first (a cut could leave part of a secret), then cut."""
    return ctx.scrub(" ".join(text.split()))[:limit]
