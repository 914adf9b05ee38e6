"""Secrets inside text users type: connection strings, URIs and configuration documents, split out and put back.

A connection string may carry a password (`postgresql://user:pw@host/db`, `...?password=pw`, `Password=pw;`) and a
configuration document a token (`{"clientSecret": "..."}`). At write the registry moves every such value into the
source's secret and keeps the text with PLACEHOLDER in its place; views show the placeholder only where a value is
configured; connectors get the full text, put back together in memory. The module imports nothing of the package,
so the domain, the API and the connectors (in their runners) share it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

# What a secret's place holds at rest and in every answer. Sent back, it means "keep the value in force": it is
# never taken as a value itself (a password that really is eight asterisks goes in `credentials.password`).
PLACEHOLDER = "********"
CONNECTION_STRING = "connectionString"
# A password given in a connection string is the source's `password` credential, as `credentials.password` is.
PASSWORD = "password"  # noqa: S105  # a credential name, not a secret
_PASSWORD_NAMES = frozenset({"password", "pass", "passwd", "pwd"})
_USER_NAMES = frozenset({"user", "username", "userid", "uid", "login"})
_SECRET_NAMES = frozenset(
    {"key", "auth", "sig", "sas", "bearer", "cookie", "authorization", "credential", "credentials", "signature"}
)
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "secretkey",
    "accesskey",
    "accountkey",
    "sharedkey",
    "privatekey",
    "passphrase",
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*(?::[A-Za-z][A-Za-z0-9+.\-]*)*://")
_HOST = re.compile(r"[A-Za-z0-9._~!$&'()*+=%-]*")
_URL_PARAMETER = re.compile(r"[?&;](?P<key>[^=&;?/#]+)=(?P<value>[^&;]*)")


class UnreadableText(ValueError):
    """Text the registry cannot split safely; `reason` never quotes the text (it may hold a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


# The settings the connector catalogue (domain/catalogue.py) marks `x-secret` whose names the rules below would not
# catch; tests/unit/test_catalogue.py fails if the catalogue and this list ever disagree.
CATALOGUE_SECRET_SETTINGS = frozenset(
    {
        "privateKey",
        "privateKeyPassphrase",
        "serviceAccountJson",
        "saslPassword",
        "schemaRegistryApiSecret",
        "clientSecret",
        "refreshToken",
        "securityToken",
    }
)
_CATALOGUE_SECRETS = frozenset(re.sub(r"[^a-z0-9]", "", name.casefold()) for name in CATALOGUE_SECRET_SETTINGS)


def is_secret_name(name: str) -> bool:
    """Whether a setting of this name holds a secret: one the connector catalogue marks secret, and any other that
    names a password, token, key, signature or passphrase (documents of unknown connectors, metadata)."""
    normal = _normal(name)
    return (
        normal in _SECRET_NAMES
        or normal in _PASSWORD_NAMES
        or normal.endswith(_SECRET_SUFFIXES)
        or normal in _CATALOGUE_SECRETS
    )


def connection_credential(option: str) -> str:
    """The credential name a secret option of a connection string is kept under."""
    return PASSWORD if _normal(option) in _PASSWORD_NAMES else f"{CONNECTION_STRING}.{option}"


@dataclass(frozen=True)
class _Slot:
    start: int  # the value's span in the text (quotes included for quoted keyword values)
    end: int
    name: str  # the credential that fills it
    value: str  # as decoded from the text
    style: str  # "url", "libpq" or "ado": how a value is written back
    drop: tuple[int, int]  # what goes when no value is in force (a URL's ":password" goes whole)


@dataclass(frozen=True)
class Parsed:
    slots: list[_Slot]
    usernames: list[str] = field(default_factory=list)


def parse(text: str) -> Parsed:
    """The secret places of a connection string (URL or key=value pairs); raises UnreadableText."""
    if _SCHEME.match(text):
        return _parse_url(text)
    if "=" in text:
        return _parse_keywords(text)
    raise UnreadableText(
        "must be a URL such as postgresql://user@host:5432/db or key=value pairs such as host=db.example.com"
    )


def _parse_url(text: str) -> Parsed:
    scheme = _SCHEME.match(text)
    assert scheme is not None
    if "#" in text:
        raise UnreadableText("must not contain '#': percent-encode it as %23, in a password too")
    if any(ch.isspace() for ch in text):
        raise UnreadableText("must not contain spaces: percent-encode them as %20")
    start = scheme.end()
    end = next((i for i in range(start, len(text)) if text[i] in "/?;"), len(text))
    if "@" in text[end:]:
        raise UnreadableText(
            "an '@' after the host must be percent-encoded as %40 (reserved characters in a user name or password are percent-encoded)"
        )
    slots: list[_Slot] = []
    users: list[str] = []
    host_start = start
    at = text.rfind("@", start, end)
    if at >= 0:
        userinfo = text[start:at]
        colon = userinfo.find(":")
        user = userinfo if colon < 0 else userinfo[:colon]
        if user:
            users.append(unquote(user))
        if colon >= 0 and start + colon + 1 < at:
            value = unquote(text[start + colon + 1 : at])
            slots.append(_Slot(start + colon + 1, at, PASSWORD, value, "url", (start + colon, at)))
        host_start = at + 1
    for host in text[host_start:end].split(","):
        _check_host(host)
    for match in _URL_PARAMETER.finditer(text, end):
        option = unquote(match["key"])
        if not is_secret_name(option) and any(
            is_secret_name(m["key"]) for m in _EMBEDDED_PAIR.finditer(unquote(match["value"]))
        ):
            raise UnreadableText("an option's value holds what looks like a secret's key=value pair: encode '='")
        if _normal(option) in _USER_NAMES:
            users.append(unquote(match["value"]))
        if is_secret_name(option) and match["value"]:
            value_start, value_end = match.span("value")
            slots.append(
                _Slot(
                    value_start,
                    value_end,
                    connection_credential(option),
                    unquote(match["value"]),
                    "url",
                    (value_start, value_end),
                )
            )
    return Parsed(slots, users)


def _check_host(hostport: str) -> None:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise UnreadableText("an IPv6 address must be closed with ']'")
        try:
            ipaddress.IPv6Address(hostport[1:close].split("%25", 1)[0])
        except ValueError:
            raise UnreadableText("the address in brackets must be an IPv6 address") from None
        port = hostport[close + 1 :]
        if port and not port.startswith(":"):
            raise UnreadableText("an IPv6 address in brackets may be followed only by :port")
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
        if not _HOST.fullmatch(host) or ":" in port:
            raise UnreadableText(
                "the host must be a host name or IP address in ASCII (an international name in its xn-- form)"
            )
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise UnreadableText("the port must be a number from 1 to 65535 in ASCII digits")


_ADO_KEY = re.compile(r"\s*(?P<key>[^=;]*?)\s*=\s*")
# No blanks after '=' (libpq would skip them and read `user= password=x` as the user "password=x").
_LIBPQ_KEY = re.compile(r"\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=")
_EMBEDDED_PAIR = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_ .\-]*?)\s*=")


def _parse_keywords(text: str) -> Parsed:
    """libpq's `k=v k='v w'` or ADO/ODBC's `K=v;K="v;w";K={v}` (chosen by whether a ';' appears)."""
    ado = _separated_by_semicolons(text)
    slots: list[_Slot] = []
    users: list[str] = []
    position = 0
    while True:
        while position < len(text) and (text[position].isspace() or (ado and text[position] == ";")):
            position += 1
        if position >= len(text):
            break
        key = (_ADO_KEY if ado else _LIBPQ_KEY).match(text, position)
        if key is None or not key["key"]:
            raise UnreadableText("key=value pairs must be separated by ';' or spaces, each with a name before '='")
        value_start = key.end()
        value, value_end = (_ado_value if ado else _libpq_value)(text, value_start)
        if not is_secret_name(key["key"]) and any(
            is_secret_name(m["key"].split()[-1]) for m in _EMBEDDED_PAIR.finditer(value) if m["key"].split()
        ):
            raise UnreadableText("a value holds what looks like a secret's key=value pair: quote the values")
        if _normal(key["key"]) in _USER_NAMES:
            users.append(value)
        if is_secret_name(key["key"]) and value:
            style = "ado" if ado else "libpq"
            slots.append(
                _Slot(value_start, value_end, connection_credential(key["key"]), value, style, (value_start, value_end))
            )
        position = value_end
        if position < len(text) and not (text[position].isspace() or (ado and text[position] == ";")):
            raise UnreadableText("a quoted value must be followed by a separator")
    return Parsed(slots, users)


def _separated_by_semicolons(text: str) -> bool:
    """Whether a ';' stands outside every quoted value ('...', "..." or {...}): ADO/ODBC's pairs, not libpq's."""
    quote_char: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote_char is None:
            if ch == ";":
                return True
            if ch in "'\"{" and i > 0 and text[i - 1] == "=":
                quote_char = "}" if ch == "{" else ch
        elif ch == "\\" and quote_char == "'":
            i += 1
        elif ch == quote_char:
            quote_char = None
        i += 1
    return False


def _libpq_value(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    quoted = start < len(text) and text[start] == "'"
    i = start + 1 if quoted else start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if quoted and ch == "'":
            return "".join(out), i + 1
        if not quoted and ch.isspace():
            break
        out.append(ch)
        i += 1
    if quoted:
        raise UnreadableText("a quoted value is not closed")
    return "".join(out), i


def _ado_value(text: str, start: int) -> tuple[str, int]:
    if start < len(text) and text[start] in "\"'{":
        close = "}" if text[start] == "{" else text[start]
        out: list[str] = []
        i = start + 1
        while i < len(text):
            if text[i] == close:
                if i + 1 < len(text) and text[i + 1] == close:
                    out.append(close)
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise UnreadableText("a quoted value is not closed")
    end = text.find(";", start)
    end = len(text) if end < 0 else end
    return text[start:end].strip(), end


def _written(value: str, style: str) -> str:
    if style == "url":
        return quote(value, safe="")
    if style == "libpq":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value and not re.search(r"[;\"'{}]|^\s|\s$", value):
        return value
    return '"' + value.replace('"', '""') + '"'


def _replace(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# -- connection strings --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    text: str  # the string with PLACEHOLDER where each secret was
    values: dict[str, str]  # credential name -> value given in the string (placeholders give none)
    conflicts: list[str]  # credential names given twice with different values


def _named(slot: _Slot, prefix: str) -> str:
    if not prefix:
        return slot.name
    return f"{prefix}:{slot.name.removeprefix(CONNECTION_STRING + '.')}"


def split_connection_string(text: str, prefix: str = "") -> Split:
    """Move the secrets out of a connection string; raises UnreadableText for a string that cannot be split.

    `prefix` names the credentials of a URL inside a document (`sourceConfig.url:password`).
    """
    parsed = parse(text)
    values: dict[str, str] = {}
    conflicts: list[str] = []
    for slot in parsed.slots:
        if slot.value == PLACEHOLDER:
            continue
        name = _named(slot, prefix)
        if values.get(name, slot.value) != slot.value:
            conflicts.append(name)
        values[name] = slot.value
    public = _replace(text, [(s.start, s.end, PLACEHOLDER) for s in parsed.slots])
    return Split(public, values, conflicts)


def redact_connection_string(text: str, configured: Collection[str] | None = None, prefix: str = "") -> str:
    """The string as answers show it: PLACEHOLDER for values in force, nothing for others; never raises.

    A string that cannot be read (a record written before the registry split strings) is shown as PLACEHOLDER.
    """
    try:
        parsed = parse(text)
    except UnreadableText:
        return PLACEHOLDER
    edits = [
        (s.start, s.end, PLACEHOLDER)
        if configured is None or s.value != PLACEHOLDER or _named(s, prefix) in configured
        else (*s.drop, "")
        for s in parsed.slots
    ]
    return _replace(text, edits)


def assemble_connection_string(text: str, credentials: Mapping[str, str], prefix: str = "") -> str:
    """The full string for a driver, in memory only: each placeholder filled with its credential, or dropped."""
    try:
        parsed = parse(text)
    except UnreadableText:
        return text  # the connector's own parser refuses it with a stable code and a safe message
    edits: list[tuple[int, int, str]] = []
    for slot in parsed.slots:
        if slot.value != PLACEHOLDER:
            continue
        value = credentials.get(_named(slot, prefix))
        edits.append((slot.start, slot.end, _written(value, slot.style)) if value else (*slot.drop, ""))
    return _replace(text, edits)


def connection_string_words(text: str) -> list[str]:
    """Every secret value and user name a string holds: what error text must never repeat."""
    try:
        parsed = parse(text)
    except UnreadableText:
        return []
    return [s.value for s in parsed.slots if s.value != PLACEHOLDER] + [u for u in parsed.usernames if u]


def loose_words(text: str) -> list[str]:
    """Whatever might be a password in a string the registry cannot read: every span between the userinfo's ':'
    and an '@', and the value of every secret-named option, however the string is broken. For withholding text
    that quotes them, never for storing: over-reaching here only withholds a message."""
    words: list[str] = []
    scheme = re.match(r"[^:/]*(?::[^:/]*)*://", text)
    rest = text[scheme.end() :] if scheme else ""
    colon = rest.find(":")
    if colon >= 0:
        words += [rest[colon + 1 : at] for at in range(colon + 1, len(rest)) if rest[at] in "@\uff20"]
    for match in re.finditer(r"(?P<key>[A-Za-z_][A-Za-z0-9_ .\-]*)\s*=\s*(?P<value>[^&;\s]+)", text):
        if is_secret_name(match["key"]):
            words += [match["value"], match["value"].strip("'\"{}")]
    return [word for word in words if word and word != PLACEHOLDER]


# -- configuration documents (003's sourceConfig, metadata, 000's connection settings) -----------------------------
def _is_url(value: Any) -> bool:
    return isinstance(value, str) and _SCHEME.match(value) is not None


def _secret_scalar(key: Any, value: Any) -> bool:
    return is_secret_name(str(key)) and isinstance(value, str | int | float) and not isinstance(value, bool)


def _walk(node: Any, path: str, leaf: Any) -> Any:
    """Rebuild a document, `leaf(path, value, secret_named)` deciding each secret-named scalar and each URL."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            here = f"{path}.{key}"
            if _secret_scalar(key, value) or _is_url(value):
                replaced = leaf(here, value, _secret_scalar(key, value))
                if replaced is not _DROP:
                    out[key] = replaced
            else:
                out[key] = _walk(value, here, leaf)
        return out
    if isinstance(node, list):
        items = [
            leaf(f"{path}[{i}]", item, False) if _is_url(item) else _walk(item, f"{path}[{i}]", leaf)
            for i, item in enumerate(node)
        ]
        return [item for item in items if item is not _DROP]
    return node


_DROP = object()


def split_document(document: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(the document with PLACEHOLDER at every secret, credential name -> value); raises UnreadableText.

    Secret-named scalars are named by their path (`sourceConfig.auth.clientSecret`); a URL's password and secret
    options by the URL's path (`sourceConfig.url:password`). A placeholder sent back keeps what is in force.
    """
    values: dict[str, str] = {}

    def leaf(path: str, value: Any, secret: bool) -> Any:
        if secret:
            if value == "":
                return value
            if value != PLACEHOLDER:
                values[path] = str(value)
            return PLACEHOLDER
        try:
            split = split_connection_string(value, prefix=path)
        except UnreadableText as error:
            raise UnreadableText(f"{path.split('.', 1)[-1]}: {error.reason}") from None
        values.update(split.values)
        return split.text

    result: dict[str, Any] = _walk(document, prefix, leaf)
    return result, values


def redact_document(
    document: Mapping[str, Any], prefix: str, configured: Collection[str] | None = None
) -> dict[str, Any]:
    """The document as answers show it (a value stored before the registry split documents shows as PLACEHOLDER)."""

    def leaf(path: str, value: Any, secret: bool) -> Any:
        if not secret:
            return redact_connection_string(value, configured, prefix=path)
        if value == "":
            return value
        if value == PLACEHOLDER and configured is not None and path not in configured:
            return _DROP
        return PLACEHOLDER

    result: dict[str, Any] = _walk(document, prefix, leaf)
    return result


def assemble_document(document: Mapping[str, Any], prefix: str, credentials: Mapping[str, str]) -> dict[str, Any]:
    """The document for a connector, in memory only: each placeholder filled with its credential, or dropped."""

    def leaf(path: str, value: Any, secret: bool) -> Any:
        if not secret:
            return assemble_connection_string(value, credentials, prefix=path)
        if value != PLACEHOLDER:
            return value
        return credentials.get(path, _DROP)

    result: dict[str, Any] = _walk(document, prefix, leaf)
    return result


def document_words(document: Mapping[str, Any]) -> list[str]:
    """Every secret value and URL user name a document holds (for scrubbing error text)."""
    words: list[str] = []

    def leaf(path: str, value: Any, secret: bool) -> Any:
        if secret:
            if value not in ("", PLACEHOLDER):
                words.append(str(value))
        else:
            words.extend(connection_string_words(value))
        return value

    _walk(document, "", leaf)
    return words
