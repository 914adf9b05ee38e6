"""MySQL and MariaDB (PyMySQL): connection test and information_schema discovery in three queries."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors.connstring import MYSQL_SCHEMES
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.settings import database_settings
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import pymysql

DEFAULT_PORT = 3306
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")

TABLES_SQL = "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES t WHERE {where}"
COLUMNS_SQL = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
    " ORDINAL_POSITION, COLUMN_KEY"
    " FROM information_schema.COLUMNS t WHERE {where} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)
PRIMARY_KEYS_SQL = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE t"
    " WHERE CONSTRAINT_NAME = 'PRIMARY' AND {where} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)

# Server error numbers (ER_*) that map to stable codes.
_AUTH_ERRORS = {1044, 1045, 1698, 2049, 1251}
_PERMISSION_ERRORS = {1142, 1143, 1227}
_NOT_FOUND_ERRORS = {1049, 1146}
_TIMEOUT_ERRORS = {1969, 3024, 2013}  # MariaDB max_statement_time, MySQL max_execution_time, lost connection


def _classify(exc: BaseException) -> ErrorCode | None:
    import pymysql

    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        number = exc.args[0]
        if number in _AUTH_ERRORS:
            return ErrorCode.AUTH_FAILED
        if number in _PERMISSION_ERRORS:
            return ErrorCode.PERMISSION_DENIED
        if number in _NOT_FOUND_ERRORS:
            return ErrorCode.NOT_FOUND
        if number in _TIMEOUT_ERRORS:
            return ErrorCode.TIMEOUT
        if "timed out" in str(exc):
            return ErrorCode.TIMEOUT
        if number in {2003, 2006}:
            return ErrorCode.UNREACHABLE
    if isinstance(exc, TimeoutError | socket.timeout):
        return ErrorCode.TIMEOUT
    if isinstance(exc, pymysql.err.OperationalError):
        return ErrorCode.UNREACHABLE
    return None


def _connect(ctx: Context) -> pymysql.connections.Connection[Any]:
    import pymysql

    settings = database_settings(ctx, MYSQL_SCHEMES, DEFAULT_PORT)
    address = ctx.reach(settings.host, settings.port)
    sock = ctx.open(address)
    ssl_mode = (settings.options.get("ssl-mode") or settings.options.get("ssl_mode") or "PREFERRED").upper()
    ssl_args: dict[str, Any] = {}
    if ssl_mode == "DISABLED":
        ssl_args["ssl_disabled"] = True
    elif ssl_mode in {"REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"}:
        ssl_args["ssl"] = {}
        ssl_args["ssl_verify_cert"] = ssl_mode != "REQUIRED"
        ssl_args["ssl_verify_identity"] = ssl_mode == "VERIFY_IDENTITY"
    with ctx.stage("authenticate", _classify):
        timeout = max(ctx.connect_timeout(), 0.1)
        conn = pymysql.connect(
            host=address.host,  # used only as the TLS server name: the socket is already pinned
            port=address.port,
            user=settings.username or "root",
            password=settings.password or "",
            database=settings.database,
            charset=settings.options.get("charset", "utf8mb4"),
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            local_infile=False,  # a hostile server must not be able to read our files
            autocommit=True,
            defer_connect=True,
            **ssl_args,
        )
        conn.connect(sock=sock)
    ctx.resources.callback(conn.close)
    return conn


def _limit_statements(ctx: Context, conn: pymysql.connections.Connection[Any]) -> None:
    seconds = max(ctx.query_timeout(), 0.1)
    # PyMySQL has no public setter: connect-time timeouts covered the handshake; queries get query_timeout.
    setattr(conn, "_read_timeout", seconds)  # noqa: B010
    setattr(conn, "_write_timeout", seconds)  # noqa: B010
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        if "mariadb" in str(getattr(conn, "server_version", "")).lower():
            cur.execute("SET SESSION max_statement_time = %s", [seconds])
        else:
            cur.execute("SET SESSION max_execution_time = %s", [int(seconds * 1000)])


def check(ctx: Context) -> None:
    conn = _connect(ctx)
    with ctx.stage("metadata", _classify):
        _limit_statements(ctx, conn)
        with conn.cursor() as cur:
            # The login name is not shown back: a test result is read by viewers too.
            cur.execute("SELECT VERSION(), DATABASE()")
            row = cur.fetchone()
        assert row is not None
        ctx.server_version, ctx.details["database"] = row


def discover(ctx: Context) -> DiscoveredSchema:
    conn = _connect(ctx)
    with ctx.stage("metadata", _classify):
        _limit_statements(ctx, conn)
        schema = ctx.target.schema_name or ctx.target.database_name or conn.db
        if isinstance(schema, bytes):
            schema = schema.decode()
        return discover_with(conn, schema, NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns))


def discover_with(conn: pymysql.connections.Connection[Any], schema: str | None, names: NameFilter) -> DiscoveredSchema:
    """Tables, columns and primary keys from information_schema: two queries, three with composite keys."""
    where, params = _filters(schema, names)  # only placeholders and fixed SQL; values go in params
    with conn.cursor() as cur:
        cur.execute(TABLES_SQL.format(where=where), params)
        tables = cur.fetchall()
        cur.execute(COLUMNS_SQL.format(where=where), params)
        column_rows = cur.fetchall()
        keys, composite = _primary_keys(column_rows)
        if composite:
            # Only composite keys need KEY_COLUMN_USAGE (key order may differ from column order):
            # information_schema scans are slow on MySQL, so the common case skips this one.
            cur.execute(PRIMARY_KEYS_SQL.format(where=where), params)
            for db, table, name in cur.fetchall():
                if (db, table) in composite:
                    composite[(db, table)].append(name)
            keys.update(composite)
    # Hot loop: rows come ordered by schema and table; each Column is one C-level tuple.__new__.
    columns: dict[tuple[str, str], list[Column]] = {}
    make = tuple.__new__
    current_schema, current_table, append = "", "", list[Column]().append
    for db, table, name, type_name, nullable, default, ordinal, _ in column_rows:
        if table != current_table or db != current_schema:
            current_schema, current_table = db, table
            append = columns.setdefault((db, table), []).append
        append(make(Column, (name, type_name, nullable == "YES", default, ordinal)))
    filtering = bool(names.include or names.exclude)
    result = [
        Table(
            schema=db,
            name=table,
            kind="view" if table_type == "VIEW" else "table",
            columns=columns.get((db, table), []),
            primary_key=keys.get((db, table), []),
            estimated_rows=int(rows) if rows is not None else None,
        )
        for db, table, table_type, rows in tables
        if not filtering or names(f"{db}.{table}")
    ]
    result.sort(key=lambda t: (t.schema, t.name))
    return DiscoveredSchema(result)


def _primary_keys(
    column_rows: Iterable[tuple[Any, ...]],
) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, str], list[str]]]:
    """Single-column primary keys from COLUMN_KEY; tables with composite keys, to be looked up."""
    members: dict[tuple[str, str], list[str]] = {}
    for db, table, name, *_, column_key in column_rows:
        if column_key == "PRI":
            members.setdefault((db, table), []).append(name)
    keys = {table: names for table, names in members.items() if len(names) == 1}
    composite: dict[tuple[str, str], list[str]] = {table: [] for table, names in members.items() if len(names) > 1}
    return keys, composite


def _filters(schema: str | None, names: NameFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if schema:
        clauses.append("t.TABLE_SCHEMA = %s")
        params.append(schema)
    else:
        clauses.append("t.TABLE_SCHEMA NOT IN (" + ", ".join(["%s"] * len(SYSTEM_SCHEMAS)) + ")")
        params.extend(SYSTEM_SCHEMAS)
    # Pushed-down filters select exactly what NameFilter does (its regexes carry PCRE's flags for case and
    # newlines); NameFilter still re-checks, so a catalog that reads a regex differently can only cost time.
    if (include := names.include_regex("mariadb")) is not None:
        clauses.append("CONCAT(t.TABLE_SCHEMA, '.', t.TABLE_NAME) REGEXP %s")
        params.append(include)
    if (exclude := names.exclude_regex("mariadb")) is not None:
        clauses.append("NOT (CONCAT(t.TABLE_SCHEMA, '.', t.TABLE_NAME) REGEXP %s)")
        params.append(exclude)
    return " AND ".join(clauses), params
