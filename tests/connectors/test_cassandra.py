"""Cassandra through cassandra-driver, against a LOCAL LISTENER (tests/connectors/cql_listener.py), not a Cassandra
server: none can run here (not on PyPI, Debian or npm; Maven Central is out of reach). The listener speaks the CQL
native protocol v4 far enough for the driver's real handshake, PasswordAuthenticator login and queries, and answers
from system / system_schema rows shaped as Cassandra documents them. What is verified: the driver's network
behaviour (where it connects, with what, how fast it gives up), the login, the queries sent and the mapping of
their rows. The engine itself is verified only by the opt-in live test (DS_LIVE_CASSANDRA_HOST, see the end).
"""

from __future__ import annotations

import os
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectorError,
    NetworkPolicy,
    check_connection,
    discover_schema,
)

from .conftest import LOOPBACK, free_port
from .cql_listener import Table, cql_listener, system_tables
from .wire import certificates, server_context

pytestmark = pytest.mark.server


def cassandra(port: int, **overrides: Any) -> ConnectionTarget:
    fields: dict[str, Any] = {"type": "cassandra", "host": "127.0.0.1", "port": port, "connection_timeout": 5}
    fields.update(overrides)
    return ConnectionTarget(**fields)


def schema_tables(port: int) -> dict[str, Table]:
    """system_schema.keyspaces / tables / views / columns rows as Cassandra 3.0+ documents them."""
    keyspaces = {"keyspace_name": "text", "durable_writes": "boolean"}
    tables = {"keyspace_name": "text", "table_name": "text", "id": "uuid"}
    views = {"keyspace_name": "text", "view_name": "text", "base_table_name": "text"}
    columns = {
        "keyspace_name": "text",
        "table_name": "text",
        "column_name": "text",
        "clustering_order": "text",
        "column_name_bytes": "text",
        "kind": "text",
        "position": "int",
        "type": "text",
    }

    def column(ks: str, table: str, name: str, kind: str, position: int, type_name: str) -> dict[str, Any]:
        order = "asc" if kind == "clustering" else "none"
        return {
            "keyspace_name": ks,
            "table_name": table,
            "column_name": name,
            "clustering_order": order,
            "kind": kind,
            "position": position,
            "type": type_name,
        }

    return {
        **system_tables(port),
        "system.size_estimates": size_estimates(),
        "system_schema.keyspaces": (
            keyspaces,
            [
                {"keyspace_name": k, "durable_writes": True}
                for k in ("system", "system_schema", "system_auth", "shop", "iot")
            ],
        ),
        "system_schema.tables": (
            tables,
            [
                {"keyspace_name": "shop", "table_name": "orders", "id": uuid.uuid4()},
                {"keyspace_name": "shop", "table_name": "customers", "id": uuid.uuid4()},
                {"keyspace_name": "iot", "table_name": "readings", "id": uuid.uuid4()},
                {"keyspace_name": "system", "table_name": "local", "id": uuid.uuid4()},
            ],
        ),
        "system_schema.views": (
            views,
            [{"keyspace_name": "shop", "view_name": "orders_by_status", "base_table_name": "orders"}],
        ),
        "system_schema.columns": (
            columns,
            [
                # A regular column's position is -1 in system_schema.columns.
                column("shop", "orders", "total", "regular", -1, "decimal"),
                column("shop", "orders", "placed_at", "clustering", 0, "timestamp"),
                column("shop", "orders", "customer_id", "partition_key", 0, "uuid"),
                column("shop", "orders", "region", "partition_key", 1, "text"),
                column("shop", "orders", "order_id", "clustering", 1, "timeuuid"),
                column("shop", "orders", "items", "regular", -1, "map<text, int>"),
                column("shop", "orders", "note", "static", -1, "text"),
                column("shop", "customers", "id", "partition_key", 0, "uuid"),
                column("shop", "customers", "emails", "regular", -1, "frozen<set<text>>"),
                column("shop", "orders_by_status", "status", "partition_key", 0, "text"),
                column("shop", "orders_by_status", "customer_id", "clustering", 0, "uuid"),
                column("iot", "readings", "sensor", "partition_key", 0, "text"),
                column("iot", "readings", "at", "clustering", 0, "timestamp"),
                column("iot", "readings", "value", "regular", -1, "double"),
                column("system", "local", "key", "partition_key", 0, "text"),
            ],
        ),
    }


def size_estimates() -> Table:
    """system.size_estimates as Cassandra documents it: one row per (keyspace, table, token range the node owns)."""
    types = {
        "keyspace_name": "text",
        "table_name": "text",
        "range_start": "text",
        "range_end": "text",
        "mean_partition_size": "bigint",
        "partitions_count": "bigint",
    }
    ranges = [("-9223372036854775808", "-3074457345618258603"), ("-3074457345618258603", "3074457345618258602")]
    counts = {("shop", "orders"): (1200, 34), ("shop", "customers"): (80, 0), ("iot", "readings"): (7_000_000_000, 5)}
    rows = [
        {
            "keyspace_name": ks,
            "table_name": table,
            "range_start": start,
            "range_end": end,
            "mean_partition_size": 512,
            "partitions_count": first + n,
        }
        for (ks, table), (first, step) in counts.items()
        for n, (start, end) in zip((0, step), ranges, strict=True)
    ]
    return types, rows


def test_check_reads_release_version_from_system_local() -> None:
    with cql_listener() as server:
        result = check_connection(cassandra(server.port), {}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version == "Cassandra 4.1.5"
    assert result.details == {"cluster": "Test Cluster", "datacenter": "datacenter1"}
    assert "SELECT release_version, cluster_name, data_center FROM system.local WHERE key = 'local'" in server.queries


def test_password_authentication_logs_in() -> None:
    password = f"pw-{uuid.uuid4().hex}"
    with cql_listener(credentials=("reader", password)) as server:
        server.tables = system_tables(server.port)
        result = check_connection(cassandra(server.port), {"username": "reader", "password": password}, LOOPBACK)

    assert result.success, result.error
    assert "reader" in server.logins


def test_a_wrong_password_is_auth_failed_and_never_shown() -> None:
    password = f"pw-{uuid.uuid4().hex}"
    with cql_listener(credentials=("reader", "the-right-one")) as server:
        result = check_connection(cassandra(server.port), {"username": "reader", "password": password}, LOOPBACK)

    assert result.error_code == "AUTH_FAILED"
    assert result.stages[-1].name == "authenticate"
    assert password not in repr(result.to_dict())


def test_no_credentials_for_a_server_that_requires_them_is_auth_failed() -> None:
    with cql_listener(credentials=("reader", "secret-password")) as server:
        result = check_connection(cassandra(server.port), {}, LOOPBACK)

    assert result.error_code == "AUTH_FAILED"


def test_the_driver_never_connects_to_the_peers_system_peers_names() -> None:
    """system.peers_v2 names a node at another loopback address and one at the pinned IP on another port: the
    driver learns of both (it would open pools to them) but the pinned policy and connection class refuse both."""
    with (
        cql_listener(host="127.0.0.1") as server,
        cql_listener(host="127.0.0.2", port=server.port) as other_host,
        cql_listener(host="127.0.0.1") as other_port,
    ):
        peers = [
            _peer("127.0.0.2", server.port, "22222222-2222-3333-4444-555555555555"),
            _peer("127.0.0.1", other_port.port, "33333333-2222-3333-4444-555555555555"),
        ]
        server.tables = {**schema_tables(server.port), **system_tables(server.port, peers)}
        result = check_connection(cassandra(server.port), {}, LOOPBACK)
        schema = discover_schema(cassandra(server.port), {}, LOOPBACK)
        time.sleep(0.5)  # room for any late pool the driver might still open

    assert result.success, result.error
    assert schema.tables
    assert any("peers_v2" in q for q in server.queries)  # the driver did learn of the peers
    assert other_host.connections == []
    assert other_port.connections == []


def _peer(address: str, port: int, host_id: str) -> dict[str, Any]:
    return {
        "peer": address,
        "peer_port": 7000,
        "host_id": uuid.UUID(host_id),
        "data_center": "datacenter1",
        "rack": "rack1",
        "native_address": address,
        "native_port": port,
        "release_version": "4.1.5",
    }


def test_discovery_maps_system_schema_rows_to_tables_keys_and_columns() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        schema = discover_schema(cassandra(server.port), {}, LOOPBACK)

    tables = {t.qualified_name: t for t in schema.tables}
    assert set(tables) == {"iot.readings", "shop.customers", "shop.orders", "shop.orders_by_status"}
    orders = tables["shop.orders"]
    assert orders.kind == "table"
    assert orders.primary_key == ["customer_id", "region", "placed_at", "order_id"]
    # Key columns first, then static and regular ones by name (the ordering rules: tests/unit/test_nosql_mapping.py)
    assert [c.name for c in orders.columns] == [
        "customer_id",
        "region",
        "placed_at",
        "order_id",
        "note",
        "items",
        "total",
    ]
    assert [c.type for c in orders.columns][-2:] == ["map<text, int>", "decimal"]
    assert [c.nullable for c in orders.columns] == [False] * 4 + [True] * 3
    assert tables["shop.orders_by_status"].kind == "view"
    # Row estimates: the sum of partitions_count over the node's token ranges (system.size_estimates)
    assert tables["shop.orders"].estimated_rows == 1200 + 1234
    assert tables["shop.customers"].estimated_rows == 160
    assert tables["iot.readings"].estimated_rows == 14_000_000_005
    assert tables["shop.orders_by_status"].estimated_rows is None  # a view has no estimate of its own
    assert "SELECT table_name, partitions_count FROM system.size_estimates WHERE keyspace_name = 'shop'" in (
        server.queries
    )
    assert tables["shop.customers"].columns[1].type == "frozen<set<text>>"
    # One query per keyspace on system_schema's partition key: the keyspace filter runs on the server.
    assert "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'shop'" in server.queries
    assert not any("'system'" in q for q in server.queries)


def test_a_node_without_size_estimates_is_discovered_without_estimates() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        del server.tables["system.size_estimates"]
        schema = discover_schema(cassandra(server.port), {}, LOOPBACK)

    assert len(schema.tables) == 4
    assert all(t.estimated_rows is None for t in schema.tables)


def test_the_datacenter_setting_is_the_local_datacenter_and_a_node_elsewhere_is_invalid_config() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        local = check_connection(cassandra(server.port, source_config={"datacenter": "datacenter1"}), {}, LOOPBACK)
        elsewhere = check_connection(cassandra(server.port, source_config={"datacenter": "dc-east"}), {}, LOOPBACK)

    assert local.success, local.error
    assert local.details["datacenter"] == "datacenter1"
    # The DC-aware policy IGNOREs a node outside the local datacenter: no query is sent to it.
    assert elsewhere.error_code == "INVALID_CONFIG"
    assert "'datacenter1', not 'dc-east'" in (elsewhere.error or "")


# --- TLS (client_encryption_options on the node) ---------------------------------------------------------------


@pytest.fixture
def tls_node(tmp_path: Path) -> Any:
    """(server context presenting a certificate for `name`, the CA that signed it (PEM), SNI names seen)."""

    def make(name: str) -> tuple[ssl.SSLContext, str, list[str | None]]:
        ca, certificate, key = certificates(name)
        directory = tmp_path / name
        directory.mkdir()
        context = server_context(certificate, key, directory)
        seen: list[str | None] = []
        context.sni_callback = lambda _sock, server_name, _context: seen.append(server_name)  # type: ignore[assignment]
        return context, ca, seen

    return make


def test_tls_with_the_source_ca_trusted_connects_to_the_pinned_ip_with_the_host_name_as_sni(tls_node: Any) -> None:
    context, ca, seen = tls_node("localhost")
    with cql_listener(tls=context) as server:
        target = cassandra(server.port, host="localhost", source_config={"tls": True, "caCertificate": ca})
        result = check_connection(target, {}, LOOPBACK)
        schema_server_queries = list(server.queries)

    assert result.success, result.error
    assert result.server_version == "Cassandra 4.1.5"
    assert seen and set(seen) == {"localhost"}  # SNI: the host name, while the socket went to the pinned IP
    assert any("system.local" in q for q in schema_server_queries)  # queries ran inside TLS


@pytest.mark.parametrize("case", ["untrusted", "other-name", "no-tls"])
def test_tls_with_an_untrusted_ca_or_a_certificate_for_another_name_is_tls_failed(tls_node: Any, case: str) -> None:
    context, ca, _ = tls_node("db.other.example" if case == "other-name" else "localhost")
    config: dict[str, Any] = {"tls": True, "caCertificate": ca} if case == "other-name" else {"tls": True}
    if case == "no-tls":
        config = {}
    with cql_listener(tls=context) as server:
        result = check_connection(cassandra(server.port, host="localhost", source_config=config), {}, LOOPBACK)

    assert server.queries == []  # nothing was asked of a node whose certificate was refused
    if case == "no-tls":  # a plain-text client on a TLS-only node: the node resets the connection, no CQL answer
        assert result.error_code == "UNREACHABLE", result.error
    else:
        assert result.error_code == "TLS_FAILED", result.error
        assert result.stages[-1].name == "authenticate"


@pytest.mark.parametrize("config", [{"tls": "yes"}, {"tls": True, "caCertificate": "not a certificate"}])
def test_bad_tls_settings_are_invalid_config(config: dict[str, Any]) -> None:
    result = check_connection(cassandra(free_port(), source_config=config), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


def test_include_and_exclude_patterns_and_keyspaces_that_cannot_match_are_not_read() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        target = cassandra(server.port, include_patterns=("shop.*",), exclude_patterns=("shop.customers",))
        schema = discover_schema(target, {}, LOOPBACK)

    assert sorted(t.qualified_name for t in schema.tables) == ["shop.orders", "shop.orders_by_status"]
    assert not any("'iot'" in q for q in server.queries)


def test_a_keyspace_setting_limits_discovery_and_a_missing_one_is_not_found() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        schema = discover_schema(cassandra(server.port, source_config={"keyspace": "iot"}), {}, LOOPBACK)
        missing = check_connection(cassandra(server.port, source_config={"keyspace": "nope"}), {}, LOOPBACK)

    assert [t.qualified_name for t in schema.tables] == ["iot.readings"]
    assert missing.error_code == "NOT_FOUND"


def test_no_permission_on_system_schema_is_permission_denied() -> None:
    with cql_listener() as server:
        server.tables = schema_tables(server.port)
        server.denied_tables = {"system_schema.keyspaces"}
        with pytest.raises(ConnectorError) as caught:
            discover_schema(cassandra(server.port), {}, LOOPBACK)

    assert caught.value.code == "PERMISSION_DENIED"


def test_a_closed_port_is_unreachable_fast() -> None:
    started = time.monotonic()
    result = check_connection(cassandra(free_port()), {}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert result.stages[-1].name == "connect"
    assert time.monotonic() - started < 4  # a refusal, not the connection timeout: room for a loaded machine


def test_a_server_that_never_answers_times_out_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    result = check_connection(cassandra(silent_server, connection_timeout=30), {}, LOOPBACK, deadline_seconds=2)

    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 3.5


def test_discovery_against_a_silent_server_times_out_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        discover_schema(cassandra(silent_server, connection_timeout=30), {}, LOOPBACK, deadline_seconds=2)

    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("host", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "169.254.170.2"])
def test_metadata_addresses_are_refused_before_connecting(host: str) -> None:
    result = check_connection(cassandra(9042, host=host), {}, LOOPBACK)

    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve"]


def test_loopback_is_refused_when_the_policy_allows_nothing() -> None:
    with cql_listener() as server:
        result = check_connection(cassandra(server.port), {}, NetworkPolicy.from_string(""))

    assert result.error_code == "BLOCKED_ADDRESS"
    assert server.connections == []  # nothing was sent


# --- opt-in live test -------------------------------------------------------------------------------------------


def test_live_cassandra() -> None:
    """DS_LIVE_CASSANDRA_HOST (and DS_LIVE_CASSANDRA_PORT, _USERNAME, _PASSWORD, _KEYSPACE; DS_LIVE_CASSANDRA_CIDRS
    when its address is private): a real Cassandra or Scylla node. Skipped otherwise, also under CI."""
    host = os.environ.get("DS_LIVE_CASSANDRA_HOST")
    if not host:
        pytest.skip("DS_LIVE_CASSANDRA_HOST is not set (opt-in test against a real Cassandra)")
    policy = NetworkPolicy.from_string(os.environ.get("DS_LIVE_CASSANDRA_CIDRS", ""))
    credentials = {
        k: v
        for k, v in {
            "username": os.environ.get("DS_LIVE_CASSANDRA_USERNAME", ""),
            "password": os.environ.get("DS_LIVE_CASSANDRA_PASSWORD", ""),
        }.items()
        if v
    }
    keyspace = os.environ.get("DS_LIVE_CASSANDRA_KEYSPACE")
    target = ConnectionTarget(
        type="cassandra",
        host=host,
        port=int(os.environ.get("DS_LIVE_CASSANDRA_PORT", "9042")),
        source_config={"keyspace": keyspace} if keyspace else {},
        connection_timeout=15,
    )

    result = check_connection(target, credentials, policy)
    assert result.success, result.error
    assert (result.server_version or "").startswith("Cassandra ")
    schema = discover_schema(target, credentials, policy, deadline_seconds=120)
    assert all(t.schema not in {"system", "system_schema"} for t in schema.tables)
