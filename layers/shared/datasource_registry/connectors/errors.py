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
_KEYWORD_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|sslpassword)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&;,)]+)"
)
REDACTED = "***"
# What a message becomes when it held a secret: replacing a secret inside the text would show its length and,
# for a short one, garble the words around it into a clue ("connecto*** not s***ppo***ted").
WITHHELD = "the details were withheld because they contained a credential"
# A user name is replaced only where it stands as a whole word of at least this many characters.
MIN_NAME = 3
# Kept for callers that exempt credential names from scrubbing: none are, user names included.
NOT_SECRET: frozenset[str] = frozenset()
USER_NAME_CREDENTIALS = frozenset({"username", "user_name", "user", "access_key_id"})


def spellings(value: str) -> set[str]:
    """Every way a library may print a value: as is, URL-encoded, repr- and JSON-escaped, SQL-quoted, HTML-escaped."""
    import html
    import json

    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.replace("'", "''"),
        value.replace("\\", "\\\\").replace("'", "\\'"),
        html.escape(value),
        value.encode("unicode_escape").decode("ascii"),
    }
    # A PEM key never appears whole in an error, but any of its lines might.
    forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
    return {form for form in forms if form}


class Scrubber:
    """Makes error text safe to show: a message holding a secret in any spelling is withheld whole; user names
    standing as whole words are replaced; URL-embedded passwords and `password=...` options are masked."""

    def __init__(self, secrets: Iterable[str], names: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._names: set[str] = set()
        for secret in secrets:
            self.add(secret)
        for name in names:
            self.add_name(name)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.update(spellings(secret))

    def add_name(self, name: str | None) -> None:
        if name:
            self._names.update(spellings(name))

    def __call__(self, text: str) -> str:
        folded = text.casefold()
        if any(secret in text or secret.casefold() in folded for secret in self._secrets):
            return WITHHELD
        for name in sorted(self._names, key=len, reverse=True):
            if name not in text:
                continue
            pattern = re.compile(r"(?<![A-Za-z0-9])" + re.escape(name) + r"(?![A-Za-z0-9])")
            replaced = pattern.sub(REDACTED, text)
            if len(name) < MIN_NAME or name in replaced:
                return WITHHELD  # it is part of other words: masking it would garble them into a clue
            text = replaced
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
        return _KEYWORD_SECRET.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
