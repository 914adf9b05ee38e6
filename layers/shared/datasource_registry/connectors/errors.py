"""Stable error codes of connection tests and discovery, and scrubbing of secrets from error text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import quote, quote_plus


class ErrorCode(StrEnum):
    DNS_FAILED = "DNS_FAILED"
    UNREACHABLE = "UNREACHABLE"
    TIMEOUT = "TIMEOUT"
    TLS_FAILED = "TLS_FAILED"
    AUTH_FAILED = "AUTH_FAILED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    BLOCKED_ADDRESS = "BLOCKED_ADDRESS"
    UNSUPPORTED = "UNSUPPORTED"
    INVALID_CONFIG = "INVALID_CONFIG"
    HOST_KEY_MISMATCH = "HOST_KEY_MISMATCH"
    PROTOCOL_ERROR = "PROTOCOL_ERROR"
    UNEXPECTED = "UNEXPECTED"


class ConnectorError(Exception):
    """A connection test or discovery failed; `message` is already free of secrets."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = ErrorCode(code)
        self.message = message


_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")
_KEYWORD_SECRET = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)=('[^']*'|\"[^\"]*\"|[^\s&;,)]+)")
REDACTED = "***"
# Credentials are write-only: every credential value is scrubbed, usernames too (they would echo back).
NOT_SECRET: frozenset[str] = frozenset()


class Scrubber:
    """Removes every known secret (and its URL-encoded spellings) and URL-embedded passwords from text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            variants.update({secret, quote(secret, safe=""), quote_plus(secret)})
            # A PEM key never appears whole in an error, but any of its lines might.
            variants.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)
        self._secrets = sorted((v for v in variants if v), key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets = sorted({*self._secrets, secret, quote(secret, safe="")}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
        return _KEYWORD_SECRET.sub(lambda m: f"{m[1]}={REDACTED}", text)
