"""Apache Cassandra and CQL-compatible servers (cassandra-driver): system.local's release_version, and keyspaces,
tables and columns from system_schema (partition key and clustering columns as the primary key).

Pinning: the driver reads system.peers and would open pools to every node it learns of. Here its load-balancing
policy allows only the pinned address (every other node is IGNORED: no pool, no query), and its connection class
refuses to open a socket to any address and port but the pinned one, whatever the driver's other paths decide.
Protocol v4 is asked for at once (Cassandra 2.2 and later, Scylla), so no version is negotiated over new connections.

TLS (`tls`: true): the driver connects to the pinned IP and wraps the socket with a context that trusts the system
CAs and `caCertificate` (PEM) if set; SNI and the certificate's name check use the host name the source gives.
`datacenter` is the local datacenter of the driver's DC-aware policy (inside the pinned-node filter): a node that is
not in it is IGNORED, so the connection fails rather than reading a node of another datacenter.
Row estimates: system.size_estimates (one partition per keyspace), the sum of partitions_count over a table's
token ranges, as `nodetool tablestats` estimates; a node that refuses that table leaves the estimates out.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors import trust
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.globprefix import might_match
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.network import PinnedAddress, within
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    from cassandra.cluster import Session

DEFAULT_PORT = 9042
PROTOCOL_VERSION = 4
MAX_TABLES = 10_000
FETCH_SIZE = 5_000
# Keyspaces of the server itself (Cassandra, DataStax Enterprise, Scylla): never discovered.
SYSTEM_KEYSPACES = frozenset(
    {
        "system",
        "system_schema",
        "system_auth",
        "system_distributed",
        "system_traces",
        "system_views",
        "system_virtual_schema",
        "system_distributed_everywhere",
        "system_replicated_keys",
        "dse_system",
        "dse_system_local",
        "dse_security",
        "dse_auth",
        "dse_leases",
        "dse_insights",
        "dse_insights_local",
        "dse_perf",
        "solr_admin",
    }
)
KEYSPACES_CQL = "SELECT keyspace_name FROM system_schema.keyspaces"
TABLES_CQL = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s"
VIEWS_CQL = "SELECT view_name FROM system_schema.views WHERE keyspace_name = %s"
COLUMNS_CQL = "SELECT table_name, column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = %s"
ESTIMATES_CQL = "SELECT table_name, partitions_count FROM system.size_estimates WHERE keyspace_name = %s"
LOCAL_CQL = "SELECT release_version, cluster_name, data_center FROM system.local WHERE key = 'local'"
_KIND_ORDER = {"partition_key": 0, "clustering": 1, "static": 2, "regular": 3}


def _classify(exc: BaseException) -> ErrorCode | None:
    import cassandra
    from cassandra import cluster, connection

    if isinstance(exc, cluster.NoHostAvailable):
        errors = exc.errors
        causes = list(errors.values() if isinstance(errors, Mapping) else errors or ())
        first = causes[0] if causes else None
        return _classify(first) if isinstance(first, BaseException) else ErrorCode.UNREACHABLE
    if isinstance(exc, cassandra.AuthenticationFailed):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, cassandra.protocol.ErrorMessage):
        code = getattr(exc, "code", None)
        if code == 0x0100:
            return ErrorCode.AUTH_FAILED
        if code == 0x2100:
            return ErrorCode.PERMISSION_DENIED
        if code == 0x2200 and ("unconfigured" in str(exc) or "does not exist" in str(exc)):
            return ErrorCode.NOT_FOUND
        if code in {0x1001, 0x1200, 0x1100}:  # Overloaded, ReadTimeout, WriteTimeout
            return ErrorCode.TIMEOUT
        return ErrorCode.PROTOCOL_ERROR
    if isinstance(exc, cassandra.OperationTimedOut | cassandra.Timeout | TimeoutError | socket.timeout):
        return ErrorCode.TIMEOUT
    if isinstance(exc, connection.ProtocolError | connection.ProtocolVersionUnsupported):
        return ErrorCode.PROTOCOL_ERROR
    if isinstance(exc, cassandra.Unauthorized):
        return ErrorCode.PERMISSION_DENIED
    if isinstance(exc, cassandra.InvalidRequest):
        return ErrorCode.NOT_FOUND if "does not exist" in str(exc) or "unconfigured" in str(exc) else None
    if isinstance(exc, connection.ConnectionException | ConnectionError | OSError):
        text = str(exc)
        if "timed out" in text.lower():
            return ErrorCode.TIMEOUT
        if "SSL" in text or "certificate" in text:
            return ErrorCode.TLS_FAILED
        return ErrorCode.UNREACHABLE
    return None


def pinned_connection_class(address: PinnedAddress) -> type[Any]:
    """The driver's connection class, refusing any endpoint but the pinned IP and port (before any socket)."""
    from cassandra.cluster import DefaultConnection
    from cassandra.connection import ConnectionException

    class PinnedConnection(DefaultConnection):  # type: ignore[misc]
        def __init__(self, endpoint: Any = None, *args: Any, **kwargs: Any) -> None:
            target = endpoint if endpoint is not None else kwargs.get("host")
            where = (getattr(target, "address", None), getattr(target, "port", None))
            if where != (address.ip, address.port):
                raise ConnectionException(
                    f"the driver asked for {where[0]}:{where[1]}; only the pinned address may be reached"
                )
            super().__init__(endpoint, *args, **kwargs)

    return PinnedConnection


def _session(ctx: Context) -> Session:
    from cassandra import ConsistencyLevel
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.policies import (
        DCAwareRoundRobinPolicy,
        FallthroughRetryPolicy,
        HostFilterPolicy,
        NoSpeculativeExecutionPolicy,
    )

    tls, datacenter = _tls_setting(ctx), _text_setting(ctx, "datacenter")
    ssl_context = trust.tls_context(trust.ca_certificate(ctx)) if tls else None
    address = ctx.reach(ctx.target.host, ctx.target.port or DEFAULT_PORT)
    # Our own TCP connection first: a closed port or a silent host answers with a clear code at once.
    ctx.open(address).close()
    with ctx.stage("authenticate", _classify):
        budget = max(ctx.connect_timeout(), 0.1)
        username, password = ctx.credential("username"), ctx.credential("password")
        auth = PlainTextAuthProvider(username=username, password=password or "") if username else None
        profile = ExecutionProfile(
            # Only the pinned node; with `datacenter`, only if it is in that datacenter (else IGNORED: no pool).
            load_balancing_policy=HostFilterPolicy(
                DCAwareRoundRobinPolicy(local_dc=datacenter or ""), lambda host: host.address == address.ip
            ),
            retry_policy=FallthroughRetryPolicy(),
            speculative_execution_policy=NoSpeculativeExecutionPolicy(),
            consistency_level=ConsistencyLevel.ONE,
            request_timeout=budget,
        )
        cluster = Cluster(
            contact_points=[address.ip],
            port=address.port,
            auth_provider=auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connection_class=pinned_connection_class(address),
            ssl_context=ssl_context,
            # SNI and the name check: the host name given, while the socket goes to the pinned IP.
            ssl_options={"server_hostname": address.host} if ssl_context else None,
            protocol_version=PROTOCOL_VERSION,
            connect_timeout=budget,
            control_connection_timeout=budget,
            schema_metadata_enabled=False,  # discovery reads system_schema itself, for the wanted keyspaces only
            token_metadata_enabled=False,
            prepare_on_all_hosts=False,
            reprepare_on_up=False,
            idle_heartbeat_interval=0,
            monitor_reporting_enabled=False,
            compression=False,
            executor_threads=1,
            application_name="datasource-registry",
        )
        ctx.resources.callback(cluster.shutdown)
        try:
            session: Session = within(budget, cluster.connect, "connecting")
        except NoHostAvailable:
            # The policy IGNOREs a node of another datacenter, so the driver opens no pool: say why.
            host = cluster.metadata.get_host(address.ip)
            if datacenter and host is not None and host.datacenter and host.datacenter != datacenter:
                raise ConnectorError(
                    ErrorCode.INVALID_CONFIG,
                    f"the node at {address.host} is in datacenter {host.datacenter!r}, not {datacenter!r}"
                    " (sourceConfig.datacenter)",
                ) from None
            raise
    return session


def _rows(ctx: Context, session: Session, cql: str, params: Iterable[Any] = ()) -> list[Any]:
    from cassandra.query import SimpleStatement

    statement = SimpleStatement(cql, fetch_size=FETCH_SIZE)
    result = session.execute(statement, tuple(params), timeout=max(ctx.query_timeout(), 0.1))
    return list(result)


def check(ctx: Context) -> None:
    session = _session(ctx)
    with ctx.stage("metadata", _classify):
        rows = _rows(ctx, session, LOCAL_CQL)
        if not rows:
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "system.local has no row for this node")
        local = rows[0]
        ctx.server_version = f"Cassandra {local.release_version}"
        ctx.details["cluster"] = local.cluster_name
        ctx.details["datacenter"] = local.data_center
        keyspace = _keyspace_setting(ctx)
        if keyspace:
            if not _rows(ctx, session, KEYSPACES_CQL + " WHERE keyspace_name = %s", [keyspace]):
                raise ConnectorError(ErrorCode.NOT_FOUND, f"keyspace {keyspace!r} does not exist")
            ctx.details["keyspace"] = keyspace


def _keyspace_setting(ctx: Context) -> str | None:
    return _text_setting(ctx, "keyspace") or ctx.target.database_name or None


def _text_setting(ctx: Context, name: str) -> str | None:
    value = ctx.target.source_config.get(name)
    if value is not None and not isinstance(value, str):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} must be a string")
    return value or None


def _tls_setting(ctx: Context) -> bool:
    value = ctx.target.source_config.get("tls", False)
    if not isinstance(value, bool):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.tls must be true or false")
    return value


def _estimates(ctx: Context, session: Session, keyspace: str) -> dict[str, int]:
    """Rows per table from system.size_estimates; empty when the node will not say (no such table, no permission)."""
    import cassandra

    try:
        rows = _rows(ctx, session, ESTIMATES_CQL, [keyspace])
    except (cassandra.InvalidRequest, cassandra.Unauthorized):
        return {}
    return estimates_of(rows)


def estimates_of(rows: Iterable[Any]) -> dict[str, int]:
    """system.size_estimates rows (keyspace_name, table_name, range_start, range_end, mean_partition_size,
    partitions_count; one per token range the node owns) to an estimate per table: the sum of partitions_count."""
    totals: dict[str, int] = {}
    for row in rows:
        count = _get(row, "partitions_count")
        if count is not None:
            table = str(_get(row, "table_name"))
            totals[table] = totals.get(table, 0) + max(int(count), 0)
    return totals


def discover(ctx: Context) -> DiscoveredSchema:
    session = _session(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    tables: list[Table] = []
    truncated = False
    with ctx.stage("metadata", _classify):
        keyspace = _keyspace_setting(ctx)
        if keyspace:
            keyspaces = [keyspace]
        else:
            listed = [str(row.keyspace_name) for row in _rows(ctx, session, KEYSPACES_CQL)]
            keyspaces = [k for k in sorted(listed) if k not in SYSTEM_KEYSPACES and might_match(names, k)]
        for name in keyspaces:
            # system_schema's partition key is keyspace_name: each query reads one partition, the keyspace's own.
            table_names = [str(row.table_name) for row in _rows(ctx, session, TABLES_CQL, [name])]
            view_names = [str(row.view_name) for row in _rows(ctx, session, VIEWS_CQL, [name])]
            wanted = dict.fromkeys(table_names, "table") | dict.fromkeys(view_names, "view")
            wanted = {t: kind for t, kind in wanted.items() if names(f"{name}.{t}")}
            if not wanted:
                continue
            column_rows = _rows(ctx, session, COLUMNS_CQL, [name])
            for table in tables_of(name, wanted, column_rows, _estimates(ctx, session, name)):
                if len(tables) >= MAX_TABLES:
                    truncated = True
                    break
                tables.append(table)
            if truncated:
                break
    details: dict[str, Any] = {"maxTables": MAX_TABLES}
    if truncated:
        details["truncated"] = True
    return DiscoveredSchema(tables, details=details)


def tables_of(
    keyspace: str, wanted: Mapping[str, str], column_rows: Iterable[Any], estimates: Mapping[str, int] | None = None
) -> list[Table]:
    """Tables from system_schema.columns rows (table_name, column_name, kind, position, type): partition key
    columns then clustering columns (each by position) form the primary key and come first; static and regular
    columns follow by name, as CQL's DESCRIBE lists them. Key columns cannot be null. `estimates`: rows per table
    (estimates_of); a view has none of its own."""
    estimates = estimates or {}
    by_table: dict[str, list[tuple[str, str, int, str]]] = {}
    for row in column_rows:
        table = str(_get(row, "table_name"))
        if table in wanted:
            position = _get(row, "position")
            by_table.setdefault(table, []).append(
                (str(_get(row, "column_name")), str(_get(row, "kind")), int(position or 0), str(_get(row, "type")))
            )
    result = []
    for table in sorted(wanted):
        rows = sorted(by_table.get(table, []), key=lambda r: (_KIND_ORDER.get(r[1], 4), r[2], r[0]))
        columns = [
            Column(name, type_name, kind not in {"partition_key", "clustering"}, None, ordinal)
            for ordinal, (name, kind, _, type_name) in enumerate(rows, start=1)
        ]
        key = [name for name, kind, _, _ in rows if kind in {"partition_key", "clustering"}]
        estimate = estimates.get(table) if wanted[table] == "table" else None
        result.append(Table(keyspace, table, wanted[table], columns, key, estimate))
    return result


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


__all__ = ["check", "discover", "estimates_of", "pinned_connection_class", "tables_of"]
