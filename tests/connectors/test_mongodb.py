"""MongoDB through pymongo against a real MongoDB-wire server: NX-27017 (PyPI `nx-27017`, a third-party server
that answers the MongoDB wire protocol from SQLite; no `mongod` can be installed here), started by these tests.

It answers hello, buildInfo, ping, listDatabases, listCollections (it ignores the filter and does not keep
validators: the pushed-down filter and `$jsonSchema` mapping are also covered in tests/unit/test_nosql_mapping.py),
aggregate `$sample`, find and count. It has no authentication, so logins are covered by the opt-in live test
(DS_LIVE_MONGODB_URL) only. TLS runs through a TLS-terminating proxy in front of it, with a certificate whose only
name is `localhost`: it passes only when SNI and the certificate check use the host name rather than the pinned IP.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datasource_registry.connectors import ConnectionTarget, ConnectorError, check_connection, discover_schema

from .conftest import LOOPBACK, free_port, pipe, self_signed, serve_connections
from .mongo_listener import mongo_listener
from .nx27017 import nx27017

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def mongo_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with nx27017(tmp_path_factory.mktemp("nx27017")) as port:
        yield port


@pytest.fixture(scope="module")
def shop(mongo_port: int) -> Iterator[str]:
    """A database with a nested/array collection, a second collection and a view-less layout; dropped after."""
    import pymongo

    name = f"shop_{uuid.uuid4().hex[:8]}"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient("127.0.0.1", mongo_port, directConnection=True)
    db = client[name]
    db.orders.insert_many(
        [
            {
                "total": 9.5,
                "placed": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
                "customer": {"name": "Ada", "age": 36},
                "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-2", "qty": 1}],
                "tags": ["new"],
            },
            {"total": 3.0, "note": None, "items": [], "big": 2**40},
            {"total": 4, "customer": {"name": "Bob"}},
        ]
    )
    db.users.insert_one({"email": "a@example.com", "active": True})
    db.audit_log.insert_one({"at": 1})
    yield name
    client.drop_database(name)
    client.close()


def mongo(port: int, **overrides: Any) -> ConnectionTarget:
    fields: dict[str, Any] = {"type": "mongodb", "host": "127.0.0.1", "port": port, "connection_timeout": 5}
    fields.update(overrides)
    return ConnectionTarget(**fields)


def test_check_reports_the_version_and_role(mongo_port: int) -> None:
    result = check_connection(mongo(mongo_port), {}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version == "MongoDB 7.0.0"  # buildInfo's version as NX-27017 reports it
    assert result.details["role"] == "standalone"


def member_hello(me: str, primary: str, *, is_primary: bool) -> dict[str, Any]:
    """`hello` as a replica-set member answers it (MongoDB's `hello` command reference)."""
    return {
        "isWritablePrimary": is_primary,
        "secondary": not is_primary,
        "setName": "rs0",
        "setVersion": 1,
        "hosts": sorted({me, primary}),
        "primary": primary,
        "me": me,
        "minWireVersion": 0,
        "maxWireVersion": 21,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 1,
    }


def test_a_replica_set_member_is_used_alone_and_the_members_it_names_are_never_contacted() -> None:
    """The member (a local listener: tests/connectors/mongo_listener.py) names a primary at another address;
    pymongo, given the pinned IP with directConnection, must neither follow it nor open a connection there."""
    with mongo_listener({}, host="127.0.0.2") as primary:
        port = primary.port
        primary.hello = member_hello(f"127.0.0.2:{port}", f"127.0.0.2:{port}", is_primary=True)
        hello = member_hello(f"127.0.0.1:{port}", f"127.0.0.2:{port}", is_primary=False)
        with mongo_listener(hello, host="127.0.0.1", port=port) as member:
            result = check_connection(mongo(port, source_config={"replicaSet": "rs0"}), {}, LOOPBACK)
            time.sleep(0.3)  # room for a monitor pymongo might still start

    assert result.success, result.error
    assert result.details == {"role": "secondary", "replicaSet": "rs0"}
    assert result.server_version == "MongoDB 7.0.14"
    assert {"ping", "buildInfo"} <= set(member.commands)
    assert primary.connections == 0


def test_a_replica_set_name_the_server_does_not_have_is_not_found(mongo_port: int) -> None:
    target = mongo(mongo_port, source_config={"replicaSet": "rs0"})

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "NOT_FOUND"
    assert "rs0" in (result.error or "")


def test_discovery_infers_fields_types_and_arrays_from_a_sample(mongo_port: int, shop: str) -> None:
    schema = discover_schema(mongo(mongo_port, database_name=shop), {}, LOOPBACK)

    tables = {t.name: t for t in schema.tables}
    assert set(tables) == {"orders", "users", "audit_log"}
    orders = tables["orders"]
    assert orders.schema == shop and orders.kind == "table"
    assert orders.primary_key == ["_id"] and orders.estimated_rows == 3
    columns = {c.name: c for c in orders.columns}
    assert orders.columns[0].name == "_id"
    assert columns["_id"].type == "objectId" and not columns["_id"].nullable
    assert columns["total"].type == "double|int" and not columns["total"].nullable
    assert columns["placed"].type == "date" and columns["placed"].nullable  # missing from two documents
    assert columns["customer"].type == "object"
    assert columns["customer.name"].type == "string"
    assert columns["customer.age"].type == "int"
    assert columns["items"].type == "array"
    assert columns["items[]"].type == "object"
    assert columns["items[].sku"].type == "string"
    assert columns["tags[]"].type == "string"
    assert columns["note"].type == "null" and columns["note"].nullable
    assert columns["big"].type == "long"
    assert schema.details["sampleSize"] == 100


def test_all_databases_but_the_system_ones_without_a_database_name(mongo_port: int, shop: str) -> None:
    schema = discover_schema(mongo(mongo_port), {}, LOOPBACK)

    databases = {t.schema for t in schema.tables}
    assert shop in databases
    assert not databases & {"admin", "local", "config"}


def test_include_and_exclude_patterns_select_collections(mongo_port: int, shop: str) -> None:
    target = mongo(mongo_port, include_patterns=(f"{shop}.*",), exclude_patterns=(f"{shop}.audit*",))

    schema = discover_schema(target, {}, LOOPBACK)

    assert sorted(t.qualified_name for t in schema.tables) == [f"{shop}.orders", f"{shop}.users"]


def test_an_include_pattern_for_another_database_skips_this_one(mongo_port: int, shop: str) -> None:
    schema = discover_schema(mongo(mongo_port, include_patterns=("elsewhere.*",)), {}, LOOPBACK)

    assert schema.tables == []


def test_a_connection_string_with_one_host_works(mongo_port: int, shop: str) -> None:
    target = ConnectionTarget(type="mongodb", connection_string=f"mongodb://127.0.0.1:{mongo_port}/{shop}")

    schema = discover_schema(target, {}, LOOPBACK)

    assert {t.schema for t in schema.tables} == {shop}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mongodb+srv://cluster0.example.net/db", "mongodb+srv"),
        ("mongodb://a.example.net:27017,b.example.net:27017/db", "exactly one host"),
        ("mongodb://127.0.0.1/db?tlsCAFile=/etc/passwd", "tlsCAFile"),
        ("mongodb://127.0.0.1/db?tlsAllowInvalidCertificates=true", "tlsAllowInvalidCertificates"),
        ("mongodb://127.0.0.1/db?proxyHost=10.0.0.1", "proxyHost"),
    ],
)
def test_connection_strings_that_could_escape_pinning_are_refused(url: str, words: str) -> None:
    result = check_connection(ConnectionTarget(type="mongodb", connection_string=url), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"
    assert words in (result.error or "")


def test_a_password_in_the_connection_string_never_shows(mongo_port: int) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    target = ConnectionTarget(type="mongodb", connection_string=f"mongodb://reader:{secret}@127.0.0.1:1/db")

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert secret not in repr(result.to_dict())


def test_a_closed_port_is_unreachable_fast() -> None:
    started = time.monotonic()
    result = check_connection(mongo(free_port()), {}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert result.stages[-1].name == "connect"
    assert (
        time.monotonic() - started < 4
    )  # a refusal, not the connection timeout (10 s by default): room for a loaded machine


def test_a_server_that_never_answers_times_out_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    result = check_connection(mongo(silent_server, connection_timeout=30), {}, LOOPBACK, deadline_seconds=2)

    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 3.5


def test_discovery_against_a_silent_server_times_out_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        discover_schema(mongo(silent_server, connection_timeout=30), {}, LOOPBACK, deadline_seconds=2)

    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("host", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"])
def test_metadata_addresses_are_refused_before_connecting(host: str) -> None:
    result = check_connection(mongo(27017, host=host), {}, LOOPBACK)

    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve"]


def test_loopback_is_refused_when_the_policy_allows_nothing_and_nothing_is_sent() -> None:
    from datasource_registry.connectors import NetworkPolicy

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    try:
        result = check_connection(mongo(listener.getsockname()[1]), {}, NetworkPolicy.from_string(""))

        assert result.error_code == "BLOCKED_ADDRESS"
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was ever opened
    finally:
        listener.close()


# --- TLS --------------------------------------------------------------------------------------------------------


@dataclass
class TlsProxy:
    port: int
    server_names: list[str]


@contextlib.contextmanager
def tls_proxy(tmp_path: Path, upstream: int, dns_name: str) -> Iterator[TlsProxy]:
    """TLS in front of the server, with a certificate naming only `dns_name`, trusted through SSL_CERT_FILE."""
    cert, key = self_signed(tmp_path, dns_name, ca=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str] = []
    context.sni_callback = lambda _sock, server_name, _ctx: names.append(server_name or "") or None
    listener = socket.create_server(("127.0.0.1", 0))

    def handle(conn: socket.socket) -> None:
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        plain = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=pipe, args=(tls, plain), daemon=True).start()
        pipe(plain, tls)

    serve_connections(listener, lambda conn: threading.Thread(target=handle, args=(conn,), daemon=True).start())
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(cert)  # the system trust store, as OpenSSL reads it, is this one certificate
    try:
        yield TlsProxy(int(listener.getsockname()[1]), names)
    finally:
        if saved is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = saved
        listener.close()


def test_tls_checks_the_certificate_against_the_host_name_not_the_pinned_ip(
    mongo_port: int, tmp_path: Path, connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip(
            "the runner's worker process trusts the system store, not this test's certificate (in-process only)"
        )
    with tls_proxy(tmp_path, mongo_port, "localhost") as proxy:
        target = mongo(proxy.port, host="localhost", source_config={"tls": True})

        result = check_connection(target, {}, LOOPBACK)

        assert result.success, result.error
        # Our own handshake, then pymongo's connections (monitor and pool): every one sent the host name.
        assert len(proxy.server_names) >= 2
        assert set(proxy.server_names) == {"localhost"}


def test_tls_with_a_certificate_for_another_name_fails(mongo_port: int, tmp_path: Path) -> None:
    with tls_proxy(tmp_path, mongo_port, "other.example") as proxy:
        result = check_connection(mongo(proxy.port, host="localhost", source_config={"tls": True}), {}, LOOPBACK)

        assert result.error_code == "TLS_FAILED"


def test_tls_through_pymongo_uses_the_host_name_too(mongo_port: int, tmp_path: Path) -> None:
    """pymongo alone (not our own first handshake) connects to the pinned IP yet checks the name."""
    from datasource_registry.connectors import mongodb
    from datasource_registry.connectors.context import Context

    with tls_proxy(tmp_path, mongo_port, "localhost") as proxy:
        target = mongo(proxy.port, host="localhost", source_config={"tls": True})
        ctx = Context.create(target, {}, LOOPBACK, 5, None, whole_call_is_connect=True)
        with ctx.resources:
            client, _ = mongodb._client(ctx)
            assert client.address == ("127.0.0.1", proxy.port)  # pymongo was given the pinned IP
            assert client.admin.command("buildInfo")["version"]


# --- opt-in live test -------------------------------------------------------------------------------------------


def test_live_mongodb() -> None:
    """DS_LIVE_MONGODB_URL=mongodb://user:pass@host:27017/db?authSource=admin[&tls=true] (a real MongoDB);
    DS_LIVE_MONGODB_CIDRS when its address is private (e.g. 10.0.0.0/8). Skipped otherwise, also under CI."""
    url = os.environ.get("DS_LIVE_MONGODB_URL")
    if not url:
        pytest.skip("DS_LIVE_MONGODB_URL is not set (opt-in test against a real MongoDB)")
    from datasource_registry.connectors import NetworkPolicy

    policy = NetworkPolicy.from_string(os.environ.get("DS_LIVE_MONGODB_CIDRS", ""))
    target = ConnectionTarget(type="mongodb", connection_string=url, connection_timeout=15)

    result = check_connection(target, {}, policy)
    assert result.success, result.error
    assert (result.server_version or "").startswith("MongoDB ")
    schema = discover_schema(target, {}, policy, deadline_seconds=120)
    assert all(t.schema not in {"admin", "local", "config"} for t in schema.tables)
