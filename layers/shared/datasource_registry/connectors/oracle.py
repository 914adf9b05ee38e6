"""Oracle (python-oracledb in thin mode: pure Python, no Instant Client): connection test and ALL_* discovery."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors import egress, trust
from datasource_registry.connectors.connstring import ORACLE_SCHEMES
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.settings import database_settings
from datasource_registry.connectors.sql_like import bounded, fetched, where
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import oracledb

DEFAULT_PORT = 1521
MAX_TABLES = 10_000
FETCH_ROWS = 5000

# Schemas a user can see, less those Oracle maintains (SYS, SYSTEM, XDB, MDSYS ...: ALL_USERS.ORACLE_MAINTAINED).
_USER_SCHEMAS = "SELECT username FROM all_users WHERE oracle_maintained = 'N'"
TABLES_SQL = """
SELECT owner, name, kind, num_rows FROM (
    SELECT t.owner, t.table_name AS name, 'TABLE' AS kind, t.num_rows
    FROM all_tables t
    WHERE t.nested = 'NO' AND t.secondary = 'N' AND t.dropped = 'NO' AND {where_t}
    UNION ALL
    SELECT t.owner, t.view_name AS name, 'VIEW' AS kind, NULL AS num_rows
    FROM all_views t
    WHERE {where_v}
)
ORDER BY owner, name
FETCH FIRST {limit} ROWS ONLY
"""
COLUMNS_SQL = """
SELECT t.owner, t.table_name, t.column_name, t.data_type, t.data_length, t.data_precision, t.data_scale,
       t.char_length, t.char_used, t.nullable, t.data_default, t.column_id
FROM all_tab_columns t
WHERE {where}
ORDER BY t.owner, t.table_name, t.column_id
"""
PRIMARY_KEYS_SQL = """
SELECT t.owner, t.table_name, cc.column_name, cc.position
FROM all_constraints t
JOIN all_cons_columns cc
  ON cc.owner = t.owner AND cc.constraint_name = t.constraint_name AND cc.table_name = t.table_name
WHERE t.constraint_type = 'P' AND {where}
"""

# ORA- codes from the server and DPY- codes of python-oracledb (oracledb/errors.py) that map to stable codes.
_AUTH = {"ORA-01017", "ORA-28000", "ORA-28001", "ORA-01005", "ORA-01004", "ORA-28040", "ORA-12638", "DPY-4001"}
_PERMISSION = {"ORA-01045", "ORA-01031", "ORA-00942", "ORA-01035"}
# service or SID not registered with the listener (DPY-6001/6003 say "Similar to ORA-12514/12505")
_NOT_FOUND = {"ORA-12514", "ORA-12505", "DPY-6001", "DPY-6003"}
_TIMEOUT = {"DPY-4024", "ORA-03156", "ORA-01013", "ORA-12170"}  # call timeout exceeded, TNS connect timeout
_UNREACHABLE = {"ORA-12541", "ORA-12543", "ORA-12537", "DPY-6000", "DPY-6004", "DPY-4011"}
_UNSUPPORTED = {"DPY-3010", "DPY-3001", "DPY-3015"}  # server version, feature, verifier type thin mode lacks
_TLS = {"DPY-6002", "DPY-6006", "ORA-29024", "ORA-28759", "ORA-29106"}  # certificate DN / name mismatch


def _codes(exc: BaseException) -> set[str]:
    """Every ORA-/DPY- code of a python-oracledb error (a DPY-6005 wraps the listener's ORA- code)."""
    found: set[str] = set()
    error = exc.args[0] if exc.args else None
    for value in (getattr(error, "full_code", None), str(exc)):
        if isinstance(value, str):
            for word in value.replace(":", " ").replace("(", " ").replace(")", " ").split():
                if word[:4] in {"ORA-", "DPY-"} and word[4:].isdigit():
                    # "Similar to ORA-1017" and ORA-01017 are one code
                    found.add(f"{word[:4]}{int(word[4:]):0{5 if word[:3] == 'ORA' else 4}d}")
    return found


def _classify(exc: BaseException) -> ErrorCode | None:
    import oracledb

    if (refused := egress.refused_in(exc)) is not None:
        return refused.code
    codes = _codes(exc)
    for known, code in (
        (_AUTH, ErrorCode.AUTH_FAILED),
        (_PERMISSION, ErrorCode.PERMISSION_DENIED),
        (_NOT_FOUND, ErrorCode.NOT_FOUND),
        (_TIMEOUT, ErrorCode.TIMEOUT),
        (_UNSUPPORTED, ErrorCode.UNSUPPORTED),
        (_TLS, ErrorCode.TLS_FAILED),
        (_UNREACHABLE, ErrorCode.UNREACHABLE),
    ):
        if codes & known:
            return code
    text = str(exc).lower()
    if "timed out" in text or "timeout" in text:
        return ErrorCode.TIMEOUT
    cause = exc.__cause__
    if isinstance(cause, ssl.SSLError | ssl.CertificateError):
        return ErrorCode.TLS_FAILED
    if isinstance(cause, TimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(cause, OSError) or "refused" in text:
        return ErrorCode.UNREACHABLE
    if isinstance(exc, oracledb.Error):
        # DPY-4xxx/5xxx are packets the driver could not read: not an Oracle listener, or not one we can speak to.
        if codes and all(c.startswith("DPY-") for c in codes):
            return ErrorCode.PROTOCOL_ERROR
        return ErrorCode.UNREACHABLE if isinstance(exc, oracledb.OperationalError) else None
    return None


def _service(ctx: Context, database: str | None) -> dict[str, str]:
    config = ctx.target.source_config
    sid, service = config.get("sid"), config.get("serviceName") or database
    if isinstance(sid, str) and sid:
        return {"sid": sid}
    if isinstance(service, str) and service:
        return {"service_name": service}
    raise ConnectorError(
        ErrorCode.INVALID_CONFIG, "an Oracle source needs sourceConfig.serviceName, sid or databaseName"
    )


def _tls(ctx: Context) -> ssl.SSLContext | None:
    """`sourceConfig.protocol` "tcps": TLS with the system CAs, or `sslCaCertificate` (PEM) for a private CA."""
    config = ctx.target.source_config
    protocol = str(config.get("protocol") or "tcp").lower()
    if protocol not in {"tcp", "tcps"}:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.protocol must be tcp or tcps")
    if protocol == "tcp":
        return None
    if ctx.target.use_ssh_tunnel:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "tcps through an SSH tunnel is not supported")
    return trust.tls_context(trust.ca_certificate(ctx, "sslCaCertificate"), "sslCaCertificate")


def _connect(ctx: Context) -> tuple[oracledb.Connection, egress.Guard]:
    import oracledb

    if not oracledb.is_thin_mode():  # thick mode would load Instant Client, with its own resolver and sqlnet.ora
        raise ConnectorError(ErrorCode.UNEXPECTED, "python-oracledb is not in thin mode")
    settings = database_settings(ctx, ORACLE_SCHEMES, DEFAULT_PORT)
    with ctx.stage("resolve"):
        service = _service(ctx, settings.database)
    ctx.stages.pop()  # part of the real "resolve" stage that follows
    with ctx.stage("resolve"):
        tls = _tls(ctx)
    ctx.stages.pop()
    address = ctx.reach(settings.host, settings.port)
    ctx.open(address).close()  # the TCP-level "connect" stage; the driver then connects to the same pinned IP
    # Plain TCP: the driver gets the pinned IP. TLS (tcps): thin mode checks the certificate against the host it
    # was given, so it gets the name, may resolve it, and may still connect to the pinned IP only (egress.Guard).
    guard = egress.Guard(address, resolvable=address.host if tls else None)
    timeout = max(ctx.connect_timeout(), 0.1)
    with ctx.stage("authenticate", _classify), guard.within(timeout, "the login"):
        params = oracledb.ConnectParams(
            host=address.host if tls else address.ip,
            port=address.port,
            protocol="tcps" if tls else "tcp",
            ssl_context=tls,
            ssl_server_dn_match=True,
            user=settings.username,
            password=settings.password,
            tcp_connect_timeout=timeout,
            retry_count=0,
            expire_time=0,
            program="datasource-registry",
            **service,
        )
        conn = oracledb.connect(params=params)
    ctx.resources.callback(conn.close)
    return conn, guard


def _limit(ctx: Context, conn: oracledb.Connection) -> oracledb.Cursor:
    conn.call_timeout = max(1, int(ctx.query_timeout() * 1000))  # every round trip, not only the whole call
    cur = conn.cursor()
    cur.arraysize = FETCH_ROWS
    cur.prefetchrows = FETCH_ROWS
    # LIKE compares bytes as the globs do, whatever the database's NLS settings.
    cur.execute("ALTER SESSION SET NLS_COMP = BINARY")
    return cur


def check(ctx: Context) -> None:
    import oracledb

    conn, guard = _connect(ctx)
    with ctx.stage("metadata", _classify), guard.within(ctx.query_timeout(), "reading the catalog"):
        cur = _limit(ctx, conn)
        # The login name is not shown back: a test result is read by viewers too.
        try:
            cur.execute("SELECT banner FROM v$version WHERE banner LIKE 'Oracle%'")
            row = cur.fetchone()
        except oracledb.DatabaseError as exc:
            if not _codes(exc) & {"ORA-00942", "ORA-01031"}:
                raise
            # No SELECT on v$version: the product table is readable by every user.
            cur.execute("SELECT product || ' ' || version FROM product_component_version WHERE product LIKE 'Oracle%'")
            row = cur.fetchone()
        ctx.server_version = str(row[0]) if row else f"Oracle Database {conn.version}"
        cur.execute("SELECT SYS_CONTEXT('USERENV', 'DB_NAME') FROM dual")
        database = cur.fetchone()
        ctx.details["database"] = database[0] if database else None


def discover(ctx: Context) -> DiscoveredSchema:
    conn, guard = _connect(ctx)
    with ctx.stage("metadata", _classify), guard.within(ctx.query_timeout(), "reading the catalog"):
        cur = _limit(ctx, conn)
        names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
        where, params = filters(ctx.target.schema_name, names)
        tables_sql = TABLES_SQL.format(
            where_t=where.format(name="t.table_name"), where_v=where.format(name="t.view_name"), limit=MAX_TABLES + 1
        )
        cur.execute(tables_sql, params)
        tables = cur.fetchall()
        cur.execute(PRIMARY_KEYS_SQL.format(where=where.format(name="t.table_name")), params)
        keys = cur.fetchall()
        cur.execute(COLUMNS_SQL.format(where=where.format(name="t.table_name")), params)
        return schema_of(tables, fetched(cur, FETCH_ROWS), keys, names)


def filters(schema: str | None, names: NameFilter) -> tuple[str, dict[str, str]]:
    """A WHERE clause on alias `t` (`{name}` is the object-name column) with bind variables only."""
    clauses: list[str] = []
    params: dict[str, str] = {}
    if schema:
        clauses.append("t.owner = :owner")
        params["owner"] = schema
    else:
        clauses.append(f"t.owner IN ({_USER_SCHEMAS})")
    qualified = "t.owner || '.' || {name}"
    return where(
        clauses,
        params,
        names.include,
        names.exclude,
        brackets=False,
        condition=lambda p: f"{qualified} LIKE :{p} ESCAPE '\\'",
    )


def type_name(
    data_type: str,
    length: int | None,
    precision: int | None,
    scale: int | None,
    char_length: int | None,
    char_used: str | None,
) -> str:
    """The column type as Oracle's DDL writes it, from ALL_TAB_COLUMNS' parts."""
    if data_type in {"VARCHAR2", "CHAR"}:
        return f"{data_type}({char_length} {'CHAR' if char_used == 'C' else 'BYTE'})"
    if data_type in {"NVARCHAR2", "NCHAR"}:
        return f"{data_type}({char_length})"
    if data_type in {"RAW", "UROWID"}:
        return f"{data_type}({length})"
    if data_type == "NUMBER":
        if precision is None:
            return "NUMBER" if scale is None else f"NUMBER(*,{scale})"
        return f"NUMBER({precision})" if not scale else f"NUMBER({precision},{scale})"
    if data_type == "FLOAT" and precision is not None:
        return f"FLOAT({precision})"
    return data_type


def schema_of(
    tables: Sequence[Sequence[Any]],
    column_rows: Iterable[Sequence[Any]],
    key_rows: Iterable[Sequence[Any]],
    names: NameFilter,
) -> DiscoveredSchema:
    """Tables from (owner, name, 'TABLE'|'VIEW', num_rows), columns from ALL_TAB_COLUMNS rows ordered by owner,
    table and column_id, primary keys from (owner, table, column, position)."""
    filtering = bool(names.include or names.exclude)
    kept, details = bounded(tables, lambda row: not filtering or names(f"{row[0]}.{row[1]}"), MAX_TABLES)
    wanted = {(row[0], row[1]) for row in kept}
    keys: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for owner, table, column, position in key_rows:
        if (owner, table) in wanted:
            keys.setdefault((owner, table), []).append((int(position), column))
    columns: dict[tuple[str, str], list[Column]] = {}
    current: tuple[str, str] | None = None
    append = list[Column]().append
    for (
        owner,
        table,
        name,
        data_type,
        length,
        precision,
        scale,
        char_length,
        char_used,
        nullable,
        default,
        ordinal,
    ) in column_rows:
        if (owner, table) != current:
            current = (owner, table)
            # A table past the bound or filtered out: its columns go to a list that is dropped.
            append = columns.setdefault(current, []).append if current in wanted else list[Column]().append
        text = default.strip() if isinstance(default, str) else None
        append(
            Column(
                name,
                type_name(data_type, length, precision, scale, char_length, char_used),
                nullable == "Y",
                text or None,
                int(ordinal),
            )
        )
    result = [
        Table(
            schema=owner,
            name=name,
            kind="view" if kind == "VIEW" else "table",
            columns=columns.get((owner, name), []),
            primary_key=[column for _, column in sorted(keys.get((owner, name), []))],
            estimated_rows=int(rows) if rows is not None else None,
        )
        for owner, name, kind, rows in kept
    ]
    result.sort(key=lambda t: (t.schema, t.name))
    return DiscoveredSchema(result, details)
