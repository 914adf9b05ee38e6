"""Which certificates a TLS connection trusts: the system CAs, and a source's own CA (a PEM setting) besides them.

A CA certificate is public: it is a plain setting, never a secret. It is read from `sourceConfig`, checked to be PEM
at once (INVALID_CONFIG otherwise, before any connection) and only ever added to the system CAs, never put instead
of them; the host name is always checked.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from contextlib import ExitStack, suppress

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode

CA_SETTING = "caCertificate"
MAX_PEM = 65_536


def ca_certificate(ctx: Context, name: str = CA_SETTING) -> str | None:
    """The PEM text of `sourceConfig.<name>`, or None when it is not set."""
    value = ctx.target.source_config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} must be a PEM certificate")
    if len(value) > MAX_PEM:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} is longer than {MAX_PEM} characters")
    return value


def tls_context(ca: str | None, name: str = CA_SETTING) -> ssl.SSLContext:
    """Python's default client context (system CAs, certificate and host name checked), trusting `ca` too."""
    context = ssl.create_default_context()
    if ca:
        try:
            context.load_verify_locations(cadata=ca)
        except (ssl.SSLError, ValueError) as exc:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} is not PEM: {exc}") from None
    return context


def system_bundle() -> str:
    """The system CA bundle as a file (pyOpenSSL wants one): what Python's ssl module itself would load."""
    paths = ssl.get_default_verify_paths()
    for candidate in (
        os.environ.get("SSL_CERT_FILE"),
        paths.cafile,
        paths.openssl_cafile,
        "/etc/pki/tls/certs/ca-bundle.crt",
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise ConnectorError(ErrorCode.TLS_FAILED, "no system CA bundle to verify the server's certificate with")


def bundle_file(ca: str | None, resources: ExitStack, name: str = CA_SETTING) -> str:
    """A CA file for drivers that take a path: the system bundle, plus `ca` (checked first) in a private temporary
    copy removed with `resources`."""
    system = system_bundle()
    if not ca:
        return system
    tls_context(ca, name)  # refuses what is not PEM before anything is written
    handle, path = tempfile.mkstemp(prefix="ca-", suffix=".pem")
    resources.callback(_remove, path)
    with os.fdopen(handle, "w") as out, open(system) as base:
        out.write(base.read())
        out.write("\n" + ca.strip() + "\n")
    return path


def _remove(path: str) -> None:
    with suppress(OSError):
        os.remove(path)
