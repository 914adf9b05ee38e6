"""SQL Server (python-tds, pure Python TDS): connection test and set-based sys-catalog discovery.

python-tds over pymssql: pymssql links FreeTDS (a C library in its wheel, with its own resolver and TLS), while
python-tds is pure Python, takes our already-connected socket (`sock=`), and needs only pyOpenSSL for TLS, whose
`cryptography` the sql layer already ships for paramiko.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors import egress, trust
from datasource_registry.connectors.connstring import SQLSERVER_SCHEMES, scheme_of
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.settings import DatabaseSettings, database_settings
from datasource_registry.connectors.sql_like import bounded, fetched, where
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import pytds

DEFAULT_PORT = 1433
MAX_TABLES = 10_000
SYSTEM_SCHEMAS = ("sys", "INFORMATION_SCHEMA", "guest")
# Binary collation: LIKE compares as the globs do (case-sensitive, code point ranges), whatever the database's.
_QUALIFIED = "(s.name + N'.' + o.name) COLLATE Latin1_General_BIN2"

# Tables and views of the database (user objects only) with row estimates of the heap or clustered index.
TABLES_SQL = """
SELECT TOP ({limit}) o.object_id, s.name, o.name, o.type, p.rows
FROM (
    SELECT object_id, schema_id, name, type FROM sys.tables WHERE is_ms_shipped = 0
    UNION ALL
    SELECT object_id, schema_id, name, type FROM sys.views WHERE is_ms_shipped = 0
) o
JOIN sys.schemas s ON s.schema_id = o.schema_id
LEFT JOIN (
    SELECT object_id, SUM(rows) AS rows FROM sys.partitions WHERE index_id IN (0, 1) GROUP BY object_id
) p ON p.object_id = o.object_id
WHERE {where}
ORDER BY s.name, o.name
"""
# The same objects' columns (type as declared, with length/precision) and primary-key positions, in one pass.
COLUMNS_SQL = """
SELECT c.object_id, c.name,
       CASE
         WHEN t.name IN ('varchar', 'char', 'varbinary', 'binary')
           THEN t.name + '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length AS varchar(10)) END + ')'
         WHEN t.name IN ('nvarchar', 'nchar')
           THEN t.name + '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length / 2 AS varchar(10)) END
                + ')'
         WHEN t.name IN ('decimal', 'numeric')
           THEN t.name + '(' + CAST(c.precision AS varchar(10)) + ',' + CAST(c.scale AS varchar(10)) + ')'
         WHEN t.name IN ('datetime2', 'time', 'datetimeoffset')
           THEN t.name + '(' + CAST(c.scale AS varchar(10)) + ')'
         ELSE t.name
       END,
       c.is_nullable, OBJECT_DEFINITION(c.default_object_id), c.column_id, k.key_ordinal
FROM sys.columns c
JOIN (
    SELECT object_id, schema_id, name FROM sys.tables WHERE is_ms_shipped = 0
    UNION ALL
    SELECT object_id, schema_id, name FROM sys.views WHERE is_ms_shipped = 0
) o ON o.object_id = c.object_id
JOIN sys.schemas s ON s.schema_id = o.schema_id
JOIN sys.types t ON t.user_type_id = c.user_type_id
LEFT JOIN (
    SELECT ic.object_id, ic.column_id, ic.key_ordinal
    FROM sys.indexes i
    JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    WHERE i.is_primary_key = 1
) k ON k.object_id = c.object_id AND k.column_id = c.column_id
WHERE {where}
ORDER BY c.object_id, c.column_id
"""
_KINDS = {"U": "table", "V": "view"}

# Server error numbers that map to stable codes (sys.messages).
_AUTH_ERRORS = {18456, 18486, 18487, 18488, 18452, 18470, 4064}
_NOT_FOUND_ERRORS = {4060, 911, 208}  # cannot open database, database does not exist, invalid object
_PERMISSION_ERRORS = {229, 230, 262, 297, 300, 916}
_TIMEOUT_ERRORS = {1222, -2}  # lock request time out, client timeout


def _classify(exc: BaseException) -> ErrorCode | None:
    import pytds

    if (refused := egress.refused_in(exc)) is not None:
        return refused.code
    if isinstance(exc, ssl.SSLError) or type(exc).__module__.startswith("OpenSSL"):
        return ErrorCode.TLS_FAILED
    number = getattr(exc, "msg_no", None)
    # A login to a database that is missing (or closed to the login) gets 4060 then 18456 "Login failed";
    # python-tds raises with the last number, and the text of both.
    if isinstance(exc, pytds.tds_base.DatabaseError) and "cannot open database" in str(exc).lower():
        return ErrorCode.NOT_FOUND
    if isinstance(exc, pytds.tds_base.DatabaseError) and isinstance(number, int) and number:
        if number in _AUTH_ERRORS:
            return ErrorCode.AUTH_FAILED
        if number in _NOT_FOUND_ERRORS:
            return ErrorCode.NOT_FOUND
        if number in _PERMISSION_ERRORS:
            return ErrorCode.PERMISSION_DENIED
        if number in _TIMEOUT_ERRORS:
            return ErrorCode.TIMEOUT
    if isinstance(exc, pytds.LoginError):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, TimeoutError | socket.timeout) or "timed out" in str(exc).lower():
        return ErrorCode.TIMEOUT
    text = str(exc).lower()
    if "certificate" in text or "encryption" in text or "tls" in text:
        return ErrorCode.TLS_FAILED
    if isinstance(exc, pytds.ClosedConnectionError | ConnectionError):
        return ErrorCode.UNREACHABLE
    # Anything else while speaking TDS is a server that does not answer as SQL Server does.
    if isinstance(exc, pytds.tds_base.Error | RuntimeError | ValueError | LookupError | AssertionError):
        return ErrorCode.PROTOCOL_ERROR
    import struct

    if isinstance(exc, struct.error | UnicodeDecodeError):
        return ErrorCode.PROTOCOL_ERROR
    return None


def _encrypt(ctx: Context, options: dict[str, str]) -> bool:
    """TLS for the whole session unless the source turns it off (`encrypt`: sourceConfig or ?encrypt=false)."""
    value: Any = ctx.target.source_config.get("encrypt", options.get("encrypt", True))
    if isinstance(value, str):
        value = value.strip().lower() not in {"false", "no", "off", "0", "disable", "optional"}
    return bool(value)


# ADO.NET / ODBC keywords (lower case, blanks removed): what each means here; any other keyword is refused.
_ADO_HOST = {"server", "datasource", "address", "addr", "networkaddress"}
_ADO_DATABASE = {"database", "initialcatalog"}
_ADO_USER = {"userid", "uid", "user", "username"}
_ADO_PASSWORD = {"password", "pwd"}
_ADO_IGNORED = {
    "connecttimeout", "connectiontimeout", "timeout", "applicationname", "app", "multipleactiveresultsets",
    "persistsecurityinfo", "pooling", "applicationintent", "multisubnetfailover", "packetsize", "workstationid",
    "wsid", "connectretrycount", "connectretryinterval", "trusted_connection", "integratedsecurity", "driver",
}  # fmt: skip


def ado_settings(ctx: Context, text: str) -> DatabaseSettings:
    """`Server=tcp:host,1433;Database=db;User ID=u;Password=p;Encrypt=yes` (ADO.NET and ODBC's form)."""
    from datasource_registry.secret_parts import _ADO_KEY, UnreadableText, _ado_value

    pairs: dict[str, str] = {}
    position = 0
    try:
        while position < len(text):
            if text[position].isspace() or text[position] == ";":
                position += 1
                continue
            found = _ADO_KEY.match(text, position)
            if found is None or not found["key"]:
                raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string pairs must be Key=value;")
            value, position = _ado_value(text, found.end())
            pairs["".join(found["key"].lower().split())] = value
    except UnreadableText as exc:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection string {exc}") from None
    options: dict[str, str] = {}
    host, port, database, user, password = None, DEFAULT_PORT, None, None, None
    for key, value in pairs.items():
        if key in _ADO_HOST:
            host, port = _ado_server(value)
        elif key in _ADO_DATABASE:
            database = value or None
        elif key in _ADO_USER:
            user = value or None
        elif key in _ADO_PASSWORD:
            password = value or None
        elif key == "encrypt":
            options["encrypt"] = "false" if value.strip().lower() in {"no", "false", "optional", "0"} else "true"
        elif key == "trustservercertificate" and value.strip().lower() in {"no", "false", "0"}:
            continue
        elif key == "trustservercertificate":
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG,
                "TrustServerCertificate is not supported: the certificate is always checked (Encrypt=no turns TLS off)",
            )
        elif key not in _ADO_IGNORED:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection string keyword {key!r} is not allowed")
    if not host:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string must name a Server")
    ctx.scrub.add(password)
    return DatabaseSettings(
        host=host,
        port=port,
        database=database or ctx.target.database_name,
        username=ctx.credential("username") or user,
        password=ctx.credential("password") or password,
        options=options,
    )


def _ado_server(value: str) -> tuple[str, int]:
    """`tcp:host,port`, `host,port` or `host`; a named instance needs SQL Browser (UDP, by name): give the port."""
    text = value.strip()
    if text.lower().startswith("tcp:"):
        text = text[4:]
    host, _, port_text = text.partition(",")
    if "\\" in host:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "a named instance (host\\instance) needs its port: host,port")
    port_text = port_text.strip()
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string has an invalid port")
    return host.strip(), int(port_text) if port_text else DEFAULT_PORT


def _settings(ctx: Context) -> DatabaseSettings:
    text = ctx.target.connection_string
    if text and scheme_of(text) not in SQLSERVER_SCHEMES and "=" in text:
        with ctx.stage("resolve"):
            settings = ado_settings(ctx, text)
        ctx.stages.pop()  # parsing is part of the real "resolve" stage that follows
        return settings
    return database_settings(ctx, SQLSERVER_SCHEMES, DEFAULT_PORT)


def certificate_matches(certificate: Any, name: str) -> bool:
    """Whether a certificate (cryptography's x509.Certificate) is for `name`: its DNS or IP subjectAltNames
    (RFC 6125: a `*` only as the whole leftmost label), else, without any, its common name."""
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        ip: Any = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    try:
        alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return ip is None and any(_dns_matches(str(c.value), name) for c in common)
    if ip is not None:
        return ip in alternatives.get_values_for_type(x509.IPAddress)
    return any(_dns_matches(pattern, name) for pattern in alternatives.get_values_for_type(x509.DNSName))


def _dns_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    head, _, rest = pattern.partition(".")
    host_head, _, host_rest = name.partition(".")
    return head == "*" and rest.count(".") >= 1 and rest == host_rest and bool(host_head)


def _validate_host(cert: Any, name: bytes) -> bool:
    return certificate_matches(cert.to_cryptography(), name.decode("ascii"))


def _connect(ctx: Context) -> tuple[pytds.Connection, egress.Guard]:
    import pytds
    import pytds.tls

    # python-tds's own check reads subjectAltName through X509.get_extension, which pyOpenSSL 26 no longer has (a
    # name matched only by a SAN then fails with AttributeError), and knows no IP SANs: the check is ours.
    pytds.tls.validate_host = _validate_host

    settings = _settings(ctx)
    encrypt = _encrypt(ctx, settings.options)
    # The system CAs, and the source's own (caCertificate) besides them: pyOpenSSL reads them from a file.
    cafile = trust.bundle_file(trust.ca_certificate(ctx), ctx.resources) if encrypt else None
    address = ctx.reach(settings.host, settings.port)
    sock = ctx.open(address)  # pinned TCP; python-tds speaks TDS (and its in-band TLS) over this socket
    guard = egress.Guard(address)
    guard.sockets.append(sock)
    timeout = max(ctx.connect_timeout(), 0.1)
    with ctx.stage("authenticate", _classify), guard.within(timeout, "the login"):
        conn = pytds.connect(
            dsn=address.host,  # only the TLS server name and certificate check: the socket is already pinned
            port=address.port,
            sock=sock,
            database=settings.database or "master",
            user=settings.username or "",
            password=settings.password or "",
            login_timeout=timeout,
            timeout=timeout,
            appname="datasource-registry",
            autocommit=True,
            # No ApplicationIntent=ReadOnly: an availability group would route it to a replica by name.
            readonly=False,
            cafile=cafile,
            validate_host=True,
            disable_connect_retry=True,  # one attempt on the one socket; a retry would reconnect by name
            bytes_to_unicode=True,
        )
    ctx.resources.callback(conn.close)
    return conn, guard


def _limit(ctx: Context, conn: pytds.Connection) -> pytds.Cursor:
    """A cursor whose every read waits at most the query budget; the server gives up on locks as soon."""
    seconds = ctx.query_timeout()
    sock = getattr(conn, "_tds_socket", None)
    if sock is not None:
        sock.sock.settimeout(seconds)
    cur = conn.cursor()
    cur.execute(f"SET LOCK_TIMEOUT {max(1, int(seconds * 1000))}; SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
    return cur


def check(ctx: Context) -> None:
    conn, guard = _connect(ctx)
    with ctx.stage("metadata", _classify), guard.within(ctx.query_timeout(), "reading the catalog"):
        cur = _limit(ctx, conn)
        # The login name is not shown back: a test result is read by viewers too.
        cur.execute("SELECT @@VERSION, DB_NAME()")
        row = cur.fetchone()
        assert row is not None
        ctx.server_version = " ".join(str(row[0]).split())
        ctx.details["database"] = row[1]


def discover(ctx: Context) -> DiscoveredSchema:
    conn, guard = _connect(ctx)
    with ctx.stage("metadata", _classify), guard.within(ctx.query_timeout(), "reading the catalog"):
        cur = _limit(ctx, conn)
        names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
        where, params = filters(ctx.target.schema_name, names)
        cur.execute(TABLES_SQL.format(limit=MAX_TABLES + 1, where=where), params)
        tables = cur.fetchall()
        cur.execute(COLUMNS_SQL.format(where=where), params)
        return schema_of(tables, fetched(cur, 5000), names)


def filters(schema: str | None, names: NameFilter) -> tuple[str, dict[str, str]]:
    """The WHERE clause (fixed SQL and placeholders only) and its parameters: schema, then pushed-down globs."""
    clauses = ["s.name NOT IN (" + ", ".join(f"'{name}'" for name in SYSTEM_SCHEMAS) + ")"]
    params: dict[str, str] = {}
    if schema:
        clauses.append("s.name = %(schema)s")
        params["schema"] = schema
    return where(
        clauses, params, names.include, names.exclude, brackets=True, condition=lambda p: f"{_QUALIFIED} LIKE %({p})s"
    )


def schema_of(
    tables: Sequence[Sequence[Any]], column_rows: Iterable[Sequence[Any]], names: NameFilter
) -> DiscoveredSchema:
    """Tables from (object_id, schema, name, type, rows) rows (at most MAX_TABLES are kept, in name order) and their
    columns from (object_id, name, type, is_nullable, default, column_id, key_ordinal) rows ordered by object."""
    filtering = bool(names.include or names.exclude)
    kept, details = bounded(tables, lambda row: not filtering or names(f"{row[1]}.{row[2]}"), MAX_TABLES)
    wanted = {row[0] for row in kept}
    columns: dict[Any, list[Column]] = {}
    keys: dict[Any, list[tuple[int, str]]] = {}
    current, append = None, list[Column]().append
    for object_id, name, type_name, nullable, default, ordinal, key_ordinal in column_rows:
        if object_id not in wanted:
            continue  # a table past the bound: its columns are never held
        if object_id != current:
            current = object_id
            append = columns.setdefault(object_id, []).append
        append(Column(name, type_name, bool(nullable), default, int(ordinal)))
        if key_ordinal:
            keys.setdefault(object_id, []).append((int(key_ordinal), name))
    result = [
        Table(
            schema=schema,
            name=name,
            kind=_KINDS.get(str(kind).strip(), "table"),
            columns=columns.get(object_id, []),
            primary_key=[column for _, column in sorted(keys.get(object_id, []))],
            estimated_rows=int(rows) if rows is not None else None,
        )
        for object_id, schema, name, kind, rows in kept
    ]
    result.sort(key=lambda t: (t.schema, t.name))
    return DiscoveredSchema(result, details)
