"""Parsing of user connection strings: one host, and only driver options known to be harmless."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from datasource_registry.connectors.errors import ConnectorError, ErrorCode

POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "redshift"})
MYSQL_SCHEMES = frozenset({"mysql", "mariadb"})
REDIS_SCHEMES = frozenset({"redis"})
SQLSERVER_SCHEMES = frozenset({"sqlserver", "mssql"})
ORACLE_SCHEMES = frozenset({"oracle"})
# mongodb+srv:// is refused: its hosts come from DNS SRV/TXT records the registry cannot pin to one address.
MONGODB_SCHEMES = frozenset({"mongodb"})

# Everything else is refused: host lists, hostaddr, service, passfile, sslkey/sslcert paths, options.
POSTGRES_OPTIONS = {
    "sslmode": {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
    "sslrootcert": {"system"},  # only the system trust store, never a file path
    "application_name": None,
    "connect_timeout": None,
    "channel_binding": {"disable", "prefer", "require"},
    "target_session_attrs": {"any", "read-write", "read-only", "primary", "standby", "prefer-standby"},
    "password": None,  # libpq's own spelling of the password; the registry keeps it as the `password` credential
    "user": None,
}
# No local_infile, read_default_file, unix_socket, init_command, plugin paths.
MYSQL_OPTIONS = {
    "ssl-mode": {"DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"},
    "ssl_mode": {"DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"},
    "charset": {"utf8mb4", "utf8", "latin1", "ascii"},
    "connect_timeout": None,
    "password": None,
    "user": None,
}
REDIS_OPTIONS: dict[str, set[str] | None] = {"db": None}
# sqlserver://host:1433/db?encrypt=false; oracle://host:1521/service_name (a SID is the `sid` setting).
SQLSERVER_OPTIONS = {"encrypt": {"true", "false"}, "password": None, "user": None}
ORACLE_OPTIONS: dict[str, set[str] | None] = {"password": None, "user": None}
# No tlsCAFile/tlsCertificateKeyFile paths, no tlsInsecure or tlsAllowInvalid*, no proxies, no authMechanismProperties.
MONGODB_OPTIONS: dict[str, set[str] | None] = {
    "authSource": None,
    "authMechanism": {"SCRAM-SHA-1", "SCRAM-SHA-256"},
    "replicaSet": None,
    "tls": {"true", "false"},
    "ssl": {"true", "false"},
    "directConnection": {"true"},
    "readPreference": {"primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"},
    "appName": None,
    "retryWrites": {"true", "false"},
    "w": None,
}


_OPTIONS_BY_SCHEME: dict[str, dict[str, set[str] | None]] = {
    **dict.fromkeys(POSTGRES_SCHEMES, POSTGRES_OPTIONS),
    **dict.fromkeys(MYSQL_SCHEMES, MYSQL_OPTIONS),
    "redis": REDIS_OPTIONS,
    "mongodb": MONGODB_OPTIONS,
    **dict.fromkeys(SQLSERVER_SCHEMES, SQLSERVER_OPTIONS),
    **dict.fromkeys(ORACLE_SCHEMES, ORACLE_OPTIONS),
}


@dataclass(frozen=True)
class ParsedConnectionString:
    scheme: str
    host: str
    port: int | None
    database: str | None
    username: str | None
    password: str | None
    options: dict[str, str] = field(default_factory=dict)


def scheme_of(text: str) -> str:
    return text.split("://", 1)[0].lower() if "://" in text else ""


def parse_connection_string(text: str, allowed_schemes: frozenset[str]) -> ParsedConnectionString:
    """Parse `scheme://user:pass@host:port/db?opt=v`; raises INVALID_CONFIG for anything else."""
    scheme = scheme_of(text)
    if scheme not in allowed_schemes:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "connection string must be a URL starting with one of "
            + ", ".join(sorted(s + "://" for s in allowed_schemes)),
        )
    try:
        parts = urlsplit(text)
    except ValueError:
        # urllib's message quotes the netloc, user name and password included: never pass it on.
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string cannot be parsed as a URL") from None
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "," in netloc:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string must name exactly one host")
    written_port = netloc.rpartition("]")[2].partition(":")[2]
    if written_port and not (written_port.isascii() and written_port.isdigit()):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string has an invalid port")
    if parts.fragment:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string must not have a #fragment")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string has an invalid port") from None
    if not host:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string must name a host (no Unix sockets)")
    host = unquote(host)
    if any(ch in host for ch in "/\\@,;% ") or host.startswith("."):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string host must be a host name or IP address")
    allowed = (
        {"postgresql": POSTGRES_OPTIONS, "mysql": MYSQL_OPTIONS, "redis": REDIS_OPTIONS}[
            "postgresql" if scheme in POSTGRES_SCHEMES else "mysql" if scheme in MYSQL_SCHEMES else "redis"
        ]
        if scheme not in SQLSERVER_SCHEMES | ORACLE_SCHEMES
        else (SQLSERVER_OPTIONS if scheme in SQLSERVER_SCHEMES else ORACLE_OPTIONS)
    )
    allowed = _OPTIONS_BY_SCHEME.get(scheme, REDIS_OPTIONS)
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key not in allowed:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection option {key!r} is not allowed")
        values = allowed[key]
        if values is not None and value not in values:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection option {key}={value!r} is not allowed")
        if key in {"connect_timeout", "db"} and not (value.isascii() and value.isdigit()):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection option {key} must be a whole number")
        if key in options:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"connection option {key!r} is given twice")
        options[key] = value
    query_password = options.pop("password", None)
    query_user = options.pop("user", None)
    path = unquote(parts.path.lstrip("/"))
    if "/" in path:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "connection string path must be just the database name")
    return ParsedConnectionString(
        scheme=scheme,
        host=host,
        port=port,
        database=path or None,
        username=unquote(parts.username) if parts.username else query_user or None,
        password=unquote(parts.password) if parts.password is not None else query_password or None,
        options=options,
    )
