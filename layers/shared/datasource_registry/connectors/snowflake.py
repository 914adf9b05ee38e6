"""Snowflake through its SQL API v2 (`POST /api/v2/statements`): plain HTTPS, no driver.

Authentication, as the SQL API takes it (`Authorization: Bearer` + `X-Snowflake-Authorization-Token-Type`):
key pair (`sourceConfig.privateKey` + `credentials.username`: an RS256 JWT signed here, `KEYPAIR_JWT`), an OAuth
access token (`credentials.oauthToken`, `OAUTH`), or a programmatic access token in `credentials.password`
(`PROGRAMMATIC_ACCESS_TOKEN`, Snowflake's documented replacement for a password). A plain password is not taken by
the SQL API; Snowflake answers 401 and the test says AUTH_FAILED. Warehouse and role go in each statement's body
(the SQL API's session settings), database and schema too.

Discovery reads `<db>.INFORMATION_SCHEMA.TABLES` and `.COLUMNS` (never SHOW, which stops at 10,000 rows), paged
with LIMIT/OFFSET, include/exclude pushed into the WHERE clause as LIKE patterns where a glob has no character
class (the rest is filtered here), at most 10,000 tables; a result's partitions are fetched one at a time.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from datasource_registry import globs
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.pinned_http import STATUS_CODES, Response, status_code
from datasource_registry.connectors.saas_http import (
    HttpsSession,
    answered,
    as_int,
    ca_certificate,
    config_text,
    load_private_key,
    rs256_jwt,
    secret_text,
)
from datasource_registry.discovered import Column, DiscoveredSchema, Table

SUFFIXES = ("snowflakecomputing.com", "snowflakecomputing.cn")
MAX_TABLES = 10_000
TABLE_PAGE = 5_000
COLUMN_PAGE = 10_000
STATEMENTS = "/api/v2/statements"
_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
# SQL API error codes (the `code` of a 422 answer) that say more than "the statement failed".
_SQL_CODES = {
    "002003": ErrorCode.NOT_FOUND,  # object does not exist or not authorized
    "002043": ErrorCode.NOT_FOUND,
    "003001": ErrorCode.PERMISSION_DENIED,  # insufficient privileges
    "000606": ErrorCode.INVALID_CONFIG,  # no active warehouse
    "000630": ErrorCode.TIMEOUT,  # statement reached its timeout
    "000604": ErrorCode.TIMEOUT,  # statement cancelled
}


def _host(ctx: Context) -> str:
    if ctx.target.host:
        return ctx.target.host
    account = config_text(ctx, "account")
    if not account:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "host (<account>.snowflakecomputing.com) or account is needed")
    return f"{account}.snowflakecomputing.com"


def jwt_account(ctx: Context, host: str) -> str:
    """The account part of a key-pair JWT: the locator without region, or org-account, upper-cased."""
    account = config_text(ctx, "account") or host.split(".", 1)[0]
    return account.split(".", 1)[0].upper()


def public_key_fingerprint(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _authorization(ctx: Context, host: str) -> dict[str, str]:
    private_key = secret_text(ctx, "privateKey")
    if private_key:
        user = ctx.credential("username")
        if not user:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "key-pair authentication needs credentials.username")
        key = load_private_key(private_key, secret_text(ctx, "privateKeyPassphrase"), "sourceConfig.privateKey")
        account, now = jwt_account(ctx, host), int(time.time())
        qualified = f"{account}.{user.upper()}"
        claims = {"iss": f"{qualified}.{public_key_fingerprint(key)}", "sub": qualified, "iat": now, "exp": now + 3600}
        token, kind = rs256_jwt(claims, key), "KEYPAIR_JWT"
    elif ctx.credential("oauth_token"):
        token, kind = str(ctx.credential("oauth_token")), "OAUTH"
    elif ctx.credential("password"):
        token, kind = str(ctx.credential("password")), "PROGRAMMATIC_ACCESS_TOKEN"
    else:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "Snowflake needs sourceConfig.privateKey with credentials.username (key pair), credentials.oauthToken,"
            " or a programmatic access token in credentials.password",
        )
    ctx.scrub.add(token)
    return {"Authorization": f"Bearer {token}", "X-Snowflake-Authorization-Token-Type": kind}


def _setting(ctx: Context, name: str) -> str | None:
    value = getattr(ctx.target, name, None) or config_text(ctx, name)
    return str(value) if value else None


def error_of(ctx: Context, response: Response) -> ConnectorError:
    """A SQL API error answer as a stable code: 401 is a failed login (e.g. 390144 JWT token is invalid)."""
    code, message = "", ""
    document = response.json_or_none()
    if isinstance(document, dict):
        code, message = str(document.get("code") or ""), str(document.get("message") or "")
    stable = STATUS_CODES.get(response.status) or _SQL_CODES.get(code) or status_code(response.status)
    if stable is None and response.status == 400 and code.startswith("390"):
        stable = ErrorCode.AUTH_FAILED  # the 390xxx codes are login failures
    return answered(ctx, "Snowflake", response.status, stable, f" ({code})" if code else "", message)


class SqlApi:
    """Runs one statement at a time through the SQL API and yields its rows partition by partition."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        host = _host(ctx)
        self.session = HttpsSession(
            ctx, host, ctx.target.port or 443, engine="Snowflake", suffixes=SUFFIXES, ca_certificate=ca_certificate(ctx)
        )
        self.headers = {"Content-Type": "application/json", **_authorization(ctx, host)}

    def rows(self, statement: str, bindings: list[str | int] | None = None) -> Iterator[list[Any]]:
        import json

        body: dict[str, Any] = {"statement": statement, "timeout": max(1, int(self.ctx.query_timeout()))}
        for name in ("warehouse", "role"):
            if _setting(self.ctx, name):
                body[name] = _setting(self.ctx, name)
        if self.ctx.target.database_name:
            body["database"] = self.ctx.target.database_name
        if self.ctx.target.schema_name:
            body["schema"] = self.ctx.target.schema_name
        if bindings:
            body["bindings"] = {
                str(i): {"type": "FIXED" if isinstance(v, int) else "TEXT", "value": str(v)}
                for i, v in enumerate(bindings, start=1)
            }
        path = f"{STATEMENTS}?requestId={uuid.uuid4()}"
        response = self.session.request("POST", path, headers=self.headers, body=json.dumps(body).encode())
        delay = 0.2
        while response.status == 202:  # still running: poll its status URL within the deadline
            handle = _handle(response.json())
            time.sleep(min(delay, max(self.ctx.query_timeout() - 0.1, 0.0)))
            delay = min(delay * 2, 2.0)
            response = self.session.request("GET", f"{STATEMENTS}/{handle}", headers=self.headers)
        if response.status != 200:
            raise error_of(self.ctx, response)
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("resultSetMetaData"), dict):
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "a statement's answer has no resultSetMetaData")
        yield from _data(document)
        partitions = document["resultSetMetaData"].get("partitionInfo") or []
        for partition in range(1, len(partitions)):
            page = self.session.request(
                "GET", f"{STATEMENTS}/{_handle(document)}?partition={partition}", headers=self.headers
            )
            if page.status != 200:
                raise error_of(self.ctx, page)
            yield from _data(page.json())


def _handle(document: Any) -> str:
    handle = document.get("statementHandle") if isinstance(document, dict) else None
    if not isinstance(handle, str) or not re.fullmatch(r"[0-9A-Za-z-]{1,100}", handle):
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "a statement's answer has no valid statementHandle")
    return handle


def _data(document: Any) -> list[list[Any]]:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "a statement's answer has no data rows")
    return data


def check(ctx: Context) -> None:
    api = SqlApi(ctx)
    api.session.connect()
    with ctx.stage("authenticate"):
        rows = list(api.rows("SELECT CURRENT_VERSION(), CURRENT_WAREHOUSE(), CURRENT_ROLE(), CURRENT_DATABASE()"))
    with ctx.stage("metadata"):
        if not rows or len(rows[0]) < 4:
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "SELECT CURRENT_VERSION() returned no row")
        version, warehouse, role, database = rows[0][:4]
        ctx.server_version = f"Snowflake {version}" if version else None
        ctx.details.update(warehouse=warehouse, role=role, database=database, api="SQL API v2")
        wanted = _setting(ctx, "warehouse")
        if wanted and not warehouse:
            # Snowflake leaves a warehouse it cannot use unset rather than failing: say so now, not at discovery.
            raise ConnectorError(
                ErrorCode.PERMISSION_DENIED,
                f"warehouse {wanted} does not exist or the role cannot use it (CURRENT_WAREHOUSE() is NULL)",
            )


# -- discovery ------------------------------------------------------------------------------------------------------
def identifier(name: str) -> str:
    return name if _PLAIN_IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def like_pattern(glob: str) -> str | None:
    """The LIKE pattern (escape `\\`) matching exactly what a glob matches, or None when it has a class."""
    out: list[str] = []
    for part in globs.parse(glob):
        if isinstance(part, str):
            out.append("\\" + part if part in "%_\\" else part)
        elif getattr(part, "many", None) is True:
            out.append("%")
        elif getattr(part, "many", None) is False:
            out.append("_")
        else:
            return None
    return "".join(out)


def pushed_filter(names: NameFilter) -> tuple[str, list[str | int]]:
    """A WHERE fragment (and its bindings) on `schema.table` for the include/exclude globs LIKE can express."""
    where, bindings = "", list[str | int]()
    qualified = "TABLE_SCHEMA || '.' || TABLE_NAME"
    includes = [like_pattern(p) for p in names.include]
    if includes and all(p is not None for p in includes):
        where += " AND (" + " OR ".join(f"{qualified} LIKE ? ESCAPE '\\\\'" for _ in includes) + ")"
        bindings += [p for p in includes if p is not None]
    for pattern in (like_pattern(p) for p in names.exclude):
        if pattern is not None:
            where += f" AND {qualified} NOT LIKE ? ESCAPE '\\\\'"
            bindings.append(pattern)
    return where, bindings


def _kind(table_type: Any) -> str:
    return "view" if "VIEW" in str(table_type or "").upper() else "table"


def column_type(data_type: Any, length: Any, precision: Any, scale: Any) -> str:
    name = str(data_type or "UNKNOWN")
    if name in {"NUMBER", "DECIMAL", "NUMERIC"} and precision is not None:
        return f"{name}({precision},{scale or 0})"
    if name in {"TEXT", "VARCHAR", "CHAR", "BINARY"} and length is not None:
        return f"{name}({length})"
    return name


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    database = ctx.target.database_name
    if not database:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "databaseName is required to discover a Snowflake database")
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    api = SqlApi(ctx)
    where = " WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA'"
    bindings: list[str | int] = []
    if ctx.target.schema_name:
        where += " AND TABLE_SCHEMA = ?"
        bindings.append(ctx.target.schema_name)
    pushed, pushed_bindings = pushed_filter(names)
    where, bindings = where + pushed, bindings + pushed_bindings
    catalog = identifier(database) + ".INFORMATION_SCHEMA"
    tables: dict[tuple[str, str], Table] = {}
    truncated = False
    with ctx.stage("metadata"):
        offset = 0
        while not truncated:
            sql = (
                f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ROW_COUNT FROM {catalog}.TABLES{where}"  # noqa: S608  # names quoted, values bound
                " ORDER BY TABLE_SCHEMA, TABLE_NAME LIMIT ? OFFSET ?"
            )
            page = list(api.rows(sql, [*bindings, TABLE_PAGE, offset]))
            for schema, name, table_type, row_count, *_ in page:
                if not names(f"{schema}.{name}"):
                    continue
                if len(tables) == MAX_TABLES:
                    truncated = True
                    break
                tables[(schema, name)] = Table(schema, name, _kind(table_type), [], [], as_int(row_count))
            if len(page) < TABLE_PAGE:
                break
            offset += TABLE_PAGE
        last = max(tables) if tables else None
        offset = 0
        while last is not None:
            selected = (
                "TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
                " ORDINAL_POSITION, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE"
            )
            order = " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION LIMIT ? OFFSET ?"
            sql = f"SELECT {selected} FROM {catalog}.COLUMNS{where}{order}"  # noqa: S608  # name quoted, values bound
            page = list(api.rows(sql, [*bindings, COLUMN_PAGE, offset]))
            for schema, name, column, data_type, nullable, default, ordinal, length, precision, scale, *_ in page:
                table = tables.get((schema, name))
                if table is not None:
                    table.columns.append(
                        Column(
                            str(column),
                            column_type(data_type, length, precision, scale),
                            str(nullable).upper() == "YES",
                            default,
                            as_int(ordinal) or len(table.columns) + 1,
                        )
                    )
            if len(page) < COLUMN_PAGE or (page and (page[-1][0], page[-1][1]) > last):
                break
            offset += COLUMN_PAGE
    details: dict[str, Any] = {
        "database": database,
        "durationMs": round((time.monotonic() - started) * 1000, 1),
        "primaryKeys": "not read (INFORMATION_SCHEMA has none; SHOW PRIMARY KEYS is not used)",
    }
    if truncated:
        details["truncated"] = True
        details["maxTables"] = MAX_TABLES
    return DiscoveredSchema(list(tables.values()), details=details)
