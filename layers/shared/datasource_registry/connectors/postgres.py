"""PostgreSQL and Redshift (psycopg 3): connection test and set-based pg_catalog discovery."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors.connstring import POSTGRES_SCHEMES
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.settings import database_settings
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import psycopg

DEFAULT_PORT = 5432
STREAM_CHUNK = 5000  # catalog rows per round trip when streaming

_RELATIONS = """
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
"""
TABLES_SQL = "SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples::float8" + _RELATIONS
# Columns join the same relation list as TABLES_SQL (not `attrelid IN (subquery)`): the planner then
# walks pg_attribute by its (attrelid, attnum) index instead of scanning the whole catalog. No ORDER BY:
# sorting 200,000 rows spills to disk with the default work_mem; rows are grouped (and ordered) in Python.
COLUMNS_SQL = """
SELECT c.oid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum::int,
       {key_position}
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  {filters}
"""
_KINDS = {"r": "table", "p": "table", "f": "table", "v": "view", "m": "view"}


def _classify(exc: BaseException) -> ErrorCode | None:
    import psycopg

    if isinstance(exc, psycopg.errors.QueryCanceled):
        return ErrorCode.TIMEOUT
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ErrorCode.PERMISSION_DENIED
    if isinstance(exc, psycopg.errors.InvalidAuthorizationSpecification | psycopg.errors.InvalidPassword):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, psycopg.errors.InvalidCatalogName):
        return ErrorCode.NOT_FOUND
    text = str(exc).lower()
    for needle, code in (
        ("password authentication failed", ErrorCode.AUTH_FAILED),
        ("no password supplied", ErrorCode.AUTH_FAILED),
        ("pg_hba.conf", ErrorCode.AUTH_FAILED),
        ("authentication failed", ErrorCode.AUTH_FAILED),
        ("role ", ErrorCode.AUTH_FAILED),
        ("does not exist", ErrorCode.NOT_FOUND),
        ("permission denied", ErrorCode.PERMISSION_DENIED),
        ("timeout", ErrorCode.TIMEOUT),
        ("ssl", ErrorCode.TLS_FAILED),
        ("certificate", ErrorCode.TLS_FAILED),
        ("refused", ErrorCode.UNREACHABLE),
        ("closed the connection", ErrorCode.UNREACHABLE),
    ):
        if needle in text:
            return code
    return ErrorCode.UNREACHABLE if isinstance(exc, psycopg.OperationalError) else None


def _connect(ctx: Context) -> psycopg.Connection[Any]:
    import psycopg

    settings = database_settings(ctx, POSTGRES_SCHEMES, DEFAULT_PORT)
    address = ctx.reach(settings.host, settings.port)
    ctx.open(address).close()  # the TCP-level "connect" stage; libpq then connects to the same pinned IP
    try:
        ipaddress.ip_address(address.host)
        tls_name = address.ip
    except ValueError:
        tls_name = address.host  # a DNS name: libpq verifies the certificate against it (verify-full)
    params: dict[str, Any] = {
        "host": tls_name,
        "hostaddr": address.ip,
        "port": address.port,
        "dbname": settings.database or "postgres",
        "user": settings.username or "postgres",
        "sslmode": settings.options.get("sslmode", "prefer"),
        "application_name": settings.options.get("application_name", "datasource-registry"),
        "gssencmode": "disable",
    }
    for key in ("sslrootcert", "channel_binding", "target_session_attrs"):
        if key in settings.options:
            params[key] = settings.options[key]
    if settings.password is not None:
        params["password"] = settings.password
    with ctx.stage("authenticate", _classify):
        params["connect_timeout"] = max(1, math.ceil(ctx.connect_timeout()))
        conn = psycopg.connect(autocommit=False, **params)
    ctx.resources.callback(conn.close)
    conn.read_only = True
    return conn


def _set_statement_timeout(ctx: Context, conn: psycopg.Connection[Any]) -> None:
    millis = max(1, int(ctx.query_timeout() * 1000))
    conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, false)", [str(millis)])


def check(ctx: Context) -> None:
    conn = _connect(ctx)
    with ctx.stage("metadata", _classify):
        _set_statement_timeout(ctx, conn)
        # The login name is not shown back: a test result is read by viewers too.
        row = conn.execute("SELECT pg_catalog.version(), current_database()").fetchone()
        assert row is not None
        ctx.server_version, ctx.details["database"] = row


def discover(ctx: Context) -> DiscoveredSchema:
    conn = _connect(ctx)
    with ctx.stage("metadata", _classify):
        _set_statement_timeout(ctx, conn)
        return discover_with(
            conn,
            ctx.target.schema_name,
            NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns),
            redshift=ctx.target.type == "redshift",
        )


def _column_rows(conn: psycopg.Connection[Any], sql: str, params: dict[str, str]) -> Iterable[tuple[Any, ...]]:
    """Rows in chunks (libpq 17+) so 200,000 of them never sit in memory twice; else one fetch."""
    import psycopg

    if psycopg.pq.version() >= 170000:
        with conn.cursor() as cur:
            yield from cur.stream(sql, params, size=STREAM_CHUNK)
        return
    with conn.cursor() as cur:
        cur.execute(sql, params)
        yield from cur.fetchall()


def _collect_columns(
    rows: Iterable[tuple[Any, ...]],
) -> tuple[dict[int, list[Column]], dict[int, list[tuple[int, str]]]]:
    # Hot loop (200,000 rows for 10,000 tables): each Column is one C-level tuple.__new__ of a row slice,
    # which already has Column's field order; the last field is the column's position in the primary key.
    columns: dict[int, list[Column]] = {}
    key_positions: dict[int, list[tuple[int, str]]] = {}
    make = tuple.__new__
    current_oid, append = -1, list[Column]().append
    for row in rows:
        if row[0] != current_oid:
            current_oid = row[0]
            append = columns.setdefault(current_oid, []).append
        append(make(Column, row[1:6]))
        if row[6] is not None:
            key_positions.setdefault(current_oid, []).append((row[6], row[1]))
    return columns, key_positions


def discover_with(
    conn: psycopg.Connection[Any], schema_name: str | None, names: NameFilter, *, redshift: bool = False
) -> DiscoveredSchema:
    """Two set-based catalog queries whatever the number of tables; filters pushed down as regexes."""
    filters, params = "", {}
    if schema_name:
        filters += " AND n.nspname = %(schema)s"
        params["schema"] = schema_name
    if (include := names.include_regex()) is not None:
        filters += " AND (n.nspname || '.' || c.relname) ~ %(include)s"
        params["include"] = include
    if (exclude := names.exclude_regex()) is not None:
        filters += " AND NOT ((n.nspname || '.' || c.relname) ~ %(exclude)s)"
        params["exclude"] = exclude
    with conn.cursor() as cur:
        cur.execute(TABLES_SQL + filters, params)
        tables = cur.fetchall()
        # Redshift (PostgreSQL 8.0) has no array_position, and its primary keys are informational only.
        key_position = "NULL::int" if redshift else "pg_catalog.array_position(i.indkey::int2[], a.attnum)"
        column_sql = COLUMNS_SQL.format(filters=filters, key_position=key_position)
        columns, key_positions = _collect_columns(_column_rows(conn, column_sql, params))

    by_ordinal = itemgetter(4)
    for table_columns in columns.values():
        table_columns.sort(key=by_ordinal)  # linear when already in order, as the index scan returns them
    primary_keys = {oid: [name for _, name in sorted(positions)] for oid, positions in key_positions.items()}
    filtering = bool(names.include or names.exclude)
    result = [
        Table(
            schema=schema,
            name=name,
            kind=_KINDS.get(relkind, "table"),
            columns=columns.get(oid, []),
            primary_key=primary_keys.get(oid, []),
            estimated_rows=int(reltuples) if reltuples is not None and reltuples >= 0 else None,
        )
        for oid, schema, name, relkind, reltuples in tables
        if not filtering or names(f"{schema}.{name}")
    ]
    result.sort(key=lambda t: (t.schema, t.name))
    return DiscoveredSchema(result)
