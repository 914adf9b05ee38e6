"""Apache Kafka (kafka-python, pure Python): bootstrap + SASL/TLS + metadata to test; topics, partitions and value
schemas (schema registry, else a bounded sample of messages) to discover.

Pinning. A Kafka client connects to the bootstrap servers, then to whatever host:port each broker advertises in
its metadata; every one of those addresses is user-controlled. kafka-python 3 opens every connection, bootstrap
and advertised alike, through `kafka.net.inet.create_connection`, which asks a `KafkaNetSocket` for `dns_lookup`
and then connects to exactly the addresses it returns; `proxy_url` selects the KafkaNetSocket subclass by URL
scheme. `_pinned_socket_class` registers one for the scheme `dsr-pinned`: its `dns_lookup` resolves through
`network.resolve_pinned` (the network policy, metadata addresses refused, a deadline on the resolver) and
returns only the allowed, pinned address, one per host for the whole call; a refused host gets no address (so no
packet is sent) and the refusal is reported as BLOCKED_ADDRESS. `client_dns_lookup` stays `use_all_dns_ips`
(`resolve_canonical_bootstrap_servers_only` would call getaddrinfo outside the hook). TLS keeps the broker's host
name for SNI and the certificate check: kafka-python wraps the socket with `server_hostname=<advertised host>`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from datasource_registry.connectors import trust
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.http_api import json_type  # the same JSON type names as the HTTP engine
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.network import PinnedAddress, open_socket, resolve_pinned
from datasource_registry.connectors.pinned_http import PinnedHttp, basic_auth, parse_base_url, status_error
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    from kafka import KafkaConsumer

DEFAULT_PORT = 9092
SCHEMA = "topics"
MAX_TOPICS = 10_000
MAX_BOOTSTRAP = 20
DEFAULT_SAMPLE = 20  # messages per topic
MAX_SAMPLE = 500
MAX_SAMPLED_TOPICS = 100
SAMPLE_SECONDS_PER_TOPIC = 2.0
MAX_SAMPLE_BYTES = 1024 * 1024  # per partition fetch
MAX_FIELDS = 500
MAX_DEPTH = 5
MAX_SCHEMA_BYTES = 1024 * 1024
_SCHEME = "dsr-pinned"
_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# Kafka's own and common infrastructure topics: not data.
_INFRASTRUCTURE = ("__", "_schemas", "_confluent", "connect-configs", "connect-offsets", "connect-status")


# -- pinning ------------------------------------------------------------------------------------------------------
@dataclass
class _Pins:
    """Per call: every host the client asked for, resolved once under the policy."""

    ctx: Context
    addresses: dict[tuple[str, int], PinnedAddress] = field(default_factory=dict)
    refused: ConnectorError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (descriptor, family, local address, peer address) of each connection kafka-python opened
    connections: list[tuple[int, int, Any, Any]] = field(default_factory=list)
    expired: bool = False

    def track(self, sock: socket.socket) -> None:
        with suppress(OSError), self.lock:
            self.connections.append((sock.fileno(), sock.family, sock.getsockname(), sock.getpeername()))

    def expire(self) -> None:
        """The deadline passed: no new connection, and every open one is shut down. kafka-python waits on its
        non-blocking sockets without a timeout in places (the TLS handshake waits for the server forever); a
        shutdown makes the socket readable, which ends that wait. The socket object itself is gone by then (the
        TLS wrapper detaches it), so the connection is reached through a duplicate of its descriptor, and only
        while that descriptor still names the same connection (same local and peer address)."""
        with self.lock:
            self.expired = True
            for fd, family, local, peer in self.connections:
                try:
                    dup = socket.fromfd(fd, family, socket.SOCK_STREAM)
                except OSError:
                    continue  # closed already
                with suppress(OSError), dup:
                    if dup.getsockname() == local and dup.getpeername() == peer:
                        dup.shutdown(socket.SHUT_RDWR)

    def resolve(self, host: str, port: int) -> PinnedAddress | None:
        with self.lock:
            if self.expired:
                return None
            known = self.addresses.get((host, port))
            if known is not None:
                return known
            try:
                timeout = min(float(self.ctx.target.connection_timeout), self._remaining())
                address = resolve_pinned(host, port, self.ctx.policy, timeout)
            except ConnectorError as exc:
                if self.refused is None or exc.code == ErrorCode.BLOCKED_ADDRESS:
                    self.refused = exc
                return None
            self.addresses[(host, port)] = address
            return address

    def _remaining(self) -> float:
        deadline = self.ctx.overall_deadline
        return max(deadline - time.monotonic(), 0.0) if deadline is not None else self.ctx.target.query_timeout


_CALLS: dict[str, _Pins] = {}
_CALLS_LOCK = threading.Lock()
_SOCKET_CLASS: list[type] = []


def _pinned_socket_class() -> type:
    """Registered once per process (kafka-python keeps a scheme -> class registry)."""
    if _SOCKET_CLASS:
        return _SOCKET_CLASS[0]
    from kafka.net.inet import KafkaNetSocket

    class PinnedKafkaSocket(KafkaNetSocket):  # type: ignore[misc]
        SCHEMES = (_SCHEME,)

        def __init__(self, proxy_url: str | None = None) -> None:
            super().__init__(proxy_url)
            token = urlsplit(proxy_url or "").hostname or ""
            with _CALLS_LOCK:
                self._pins = _CALLS.get(token)

        def dns_lookup(self, host: str, port: int, raise_error: bool = False) -> list[Any]:
            if self._pins is None:  # the call has ended: connect nowhere
                return []
            address = self._pins.resolve(host, port)
            if address is None:
                return []
            sockaddr: tuple[Any, ...] = (address.ip, address.port)
            if address.family == socket.AF_INET6:
                sockaddr = (address.ip, address.port, 0, 0)
            return [(address.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

        async def connect(self, net: Any, addrinfo: Any, socket_options: Any = (), timeout_at: Any = None) -> Any:
            sock = await super().connect(net, addrinfo, socket_options, timeout_at=timeout_at)
            if self._pins is not None:
                self._pins.track(sock)
            return sock

    _SOCKET_CLASS.append(PinnedKafkaSocket)
    return PinnedKafkaSocket


@contextmanager
def _deadline(pins: _Pins, seconds: float) -> Iterator[None]:
    """Whatever kafka-python waits on, it stops once `seconds` have passed (see _Pins.expire)."""
    timer = threading.Timer(max(seconds, 0.0), pins.expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@contextmanager
def _pinned(ctx: Context) -> Iterator[tuple[str, _Pins]]:
    _pinned_socket_class()
    token = secrets.token_hex(8)
    pins = _Pins(ctx)
    with _CALLS_LOCK:
        _CALLS[token] = pins
    try:
        yield f"{_SCHEME}://{token}", pins
    finally:
        with _CALLS_LOCK:
            _CALLS.pop(token, None)


class _Failures(logging.Handler):
    """kafka-python retries a failed bootstrap until its timeout and then says only "Unable to bootstrap"; the
    exceptions it logs on the way (TLS, SASL, refused connections) are the reason. A definitive one (the
    credentials or the certificate were refused) closes the client's connection manager, which ends the bootstrap
    loop at once instead of retrying the same refusal until the deadline."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[BaseException] = []
        self.clients: list[Any] = []  # kafka-python's KafkaNetClient of this call

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        found = [a for a in args if isinstance(a, BaseException)]
        if record.exc_info and record.exc_info[1] is not None:
            found.append(record.exc_info[1])
        self.seen.extend(found)
        if any(_classify(e) in _DEFINITIVE for e in found):
            for client in self.clients:
                client._manager.closed = True  # _do_bootstrap's loop condition: stop retrying


_DEFINITIVE = frozenset({ErrorCode.AUTH_FAILED, ErrorCode.PERMISSION_DENIED, ErrorCode.TLS_FAILED})


# -- configuration ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    bootstrap: list[tuple[str, int]]
    protocol: str
    mechanism: str | None
    username: str | None
    password: str | None
    topics: list[str]
    sample: int
    ca: str | None = None  # PEM of a CA trusted besides the system ones (SSL, SASL_SSL)


def _setting(config: Mapping[str, Any], name: str) -> str | None:
    value = config.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    """`host:port[,host:port...]` (IPv6 as `[::1]:9092`; the port defaults to 9092)."""
    servers = []
    for part in (p.strip() for p in text.replace(" ", ",").split(",")):
        if not part:
            continue
        if "://" in part or "@" in part or "/" in part:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "bootstrapServers is host:port[,host:port...]")
        host, port_text = part, ""
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif part.count(":") == 1:
            host, port_text = part.split(":")
        elif part.count(":") > 1:
            try:
                ipaddress.IPv6Address(part)
            except ValueError:
                raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{part!r} is not host:port") from None
        if port_text and not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{part!r} has an invalid port")
        if not host:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{part!r} has no host")
        servers.append((host, int(port_text) if port_text else DEFAULT_PORT))
    if len(servers) > MAX_BOOTSTRAP:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"at most {MAX_BOOTSTRAP} bootstrap servers")
    return servers


def settings_of(ctx: Context) -> Settings:
    config = ctx.target.source_config
    text = _setting(config, "bootstrapServers")
    if text is None and ctx.target.host:
        text = f"{ctx.target.host}:{ctx.target.port or DEFAULT_PORT}"
    bootstrap = parse_bootstrap(text or "")
    if not bootstrap:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.bootstrapServers (or host) is required")
    protocol = (_setting(config, "securityProtocol") or "PLAINTEXT").upper()
    if protocol not in _PROTOCOLS:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"securityProtocol must be one of {', '.join(_PROTOCOLS)}")
    mechanism, username, password = None, None, None
    if protocol.startswith("SASL_"):
        mechanism = (_setting(config, "saslMechanism") or "PLAIN").upper()
        if mechanism not in _MECHANISMS:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"saslMechanism must be one of {', '.join(_MECHANISMS)}")
        username = _setting(config, "saslUsername") or ctx.credential("username")
        password = _setting(config, "saslPassword") or ctx.credential("password")
        if not (username and password):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{protocol} needs saslUsername and saslPassword")
        ctx.scrub.add(password)
        ctx.scrub.add_name(username)
    topics = config.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.topics must be a list of topic names")
    sample = config.get("sampleSize", DEFAULT_SAMPLE)
    if not isinstance(sample, int) or isinstance(sample, bool) or not 0 <= sample <= MAX_SAMPLE:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.sampleSize must be 0 to {MAX_SAMPLE}")
    ca = trust.ca_certificate(ctx)
    if ca and protocol not in {"SSL", "SASL_SSL"}:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "caCertificate needs securityProtocol SSL or SASL_SSL")
    if ca:
        trust.tls_context(ca)  # not PEM: INVALID_CONFIG before any connection
    return Settings(bootstrap, protocol, mechanism, username, password, list(topics), sample, ca)


# -- the client ---------------------------------------------------------------------------------------------------
def _in_sasl_exchange(exc: BaseException) -> bool:
    """Raised by kafka-python's SASL code: e.g. SCRAM's server-final `e=unknown-user`, which kafka-python reads as
    a KeyError('v') instead of an authentication failure."""
    tb = exc.__traceback__
    while tb is not None:
        if "/kafka/net/sasl/" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


def _classify(exc: BaseException) -> ErrorCode | None:
    from kafka import errors

    if _in_sasl_exchange(exc):
        return ErrorCode.AUTH_FAILED
    if isinstance(
        exc, errors.SaslAuthenticationFailedError | errors.UnsupportedSaslMechanismError | errors.IllegalSaslStateError
    ):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, errors.AuthorizationError):
        return ErrorCode.PERMISSION_DENIED
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ErrorCode.TLS_FAILED
    if isinstance(exc, errors.KafkaConnectionError) and "Handshake failed" in str(exc):
        return ErrorCode.TLS_FAILED
    if isinstance(exc, errors.KafkaTimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(exc, errors.KafkaConnectionError | errors.BrokerNotAvailableError):
        return ErrorCode.UNREACHABLE
    if isinstance(exc, errors.KafkaError):
        return ErrorCode.PROTOCOL_ERROR
    return None


def _reason(ctx: Context, pins: _Pins, failures: _Failures, exc: BaseException) -> ConnectorError:
    """The most telling reason a client call failed: a refused address, the deadline, else the first specific
    logged error."""
    if pins.refused is not None:
        return pins.refused
    if pins.expired:
        if any("disconnected" in str(e) for e in failures.seen):
            return ConnectorError(
                ErrorCode.TIMEOUT,
                "the broker closed the connection on every attempt until the deadline: does the listener expect"
                " this securityProtocol and saslMechanism?",
            )
        return ConnectorError(ErrorCode.TIMEOUT, "the brokers did not answer within the deadline")
    ranked = [ErrorCode.AUTH_FAILED, ErrorCode.PERMISSION_DENIED, ErrorCode.TLS_FAILED, ErrorCode.UNREACHABLE]
    seen = [(e, _classify(e)) for e in failures.seen]
    for code in ranked:
        for logged, logged_code in seen:
            if logged_code == code:
                if code == ErrorCode.UNREACHABLE and ctx.connect_timeout() <= 0:
                    break  # retried until the deadline: that is the story
                what = f"{type(logged).__name__}: {logged}"
                if code == ErrorCode.AUTH_FAILED:
                    return ConnectorError(code, f"the broker refused the SASL credentials ({what})")
                return ConnectorError(code, what)
    code = _classify(exc) or ErrorCode.UNEXPECTED
    return ConnectorError(code, f"{type(exc).__name__}: {exc}")


def _budget_ms(seconds: float) -> int:
    return max(int(seconds * 1000), 100)


@contextmanager
def _consumer(ctx: Context, settings: Settings) -> Iterator[tuple[KafkaConsumer, _Pins, _Failures]]:
    from kafka import KafkaConsumer

    failures = _Failures()
    logger = logging.getLogger("kafka")
    logger.addHandler(failures)
    with _pinned(ctx) as (proxy_url, pins):
        try:
            with ctx.stage("resolve"):  # every bootstrap server must pass the policy before a packet is sent
                addresses = []
                for host, port in settings.bootstrap:
                    address = pins.resolve(host, port)
                    if address is None:
                        assert pins.refused is not None
                        raise pins.refused
                    addresses.append(address)
            with ctx.stage("connect"):
                # One plain TCP connection first: kafka-python retries a refused or silent bootstrap server until
                # its timeout; this says UNREACHABLE at once, or TIMEOUT within the deadline.
                _probe(ctx, addresses)
            budget = max(ctx.connect_timeout(), 0.1)
            config: dict[str, Any] = {
                "bootstrap_servers": [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in settings.bootstrap],
                "proxy_url": proxy_url,
                "client_id": "datasource-registry",
                "client_dns_lookup": "use_all_dns_ips",
                "security_protocol": settings.protocol,
                "bootstrap_timeout_ms": _budget_ms(budget),
                "request_timeout_ms": max(_budget_ms(budget), 1000),
                "fetch_max_wait_ms": 100,
                "reconnect_backoff_ms": 50,
                "reconnect_backoff_max_ms": 1000,
                "metadata_max_age_ms": 300_000,
                "connections_max_idle_ms": 600_000,
                "group_id": None,
                "enable_auto_commit": False,
                "allow_auto_create_topics": False,
                "auto_offset_reset": "earliest",
                "max_partition_fetch_bytes": MAX_SAMPLE_BYTES,
                "fetch_max_bytes": 4 * MAX_SAMPLE_BYTES,
                "max_poll_records": MAX_SAMPLE,
                "exclude_internal_topics": True,
            }
            from kafka.net.compat import KafkaNetClient

            def client(**configs: Any) -> Any:
                made = KafkaNetClient(**configs)
                failures.clients.append(made)
                return made

            config["kafka_client"] = client
            if settings.protocol in {"SSL", "SASL_SSL"}:
                # The system CAs and the source's own (caCertificate), the broker's host name checked.
                config["ssl_context"] = trust.tls_context(settings.ca)
            if settings.mechanism:
                config.update(
                    sasl_mechanism=settings.mechanism,
                    sasl_plain_username=settings.username,
                    sasl_plain_password=settings.password,
                )
            with ctx.stage("authenticate"):  # kafka-python's bootstrap: TLS, SASL and the first metadata request
                try:
                    with _deadline(pins, ctx.connect_timeout()):
                        consumer = KafkaConsumer(**config)
                except Exception as exc:
                    for made in failures.clients:  # a failed constructor leaves its IO thread running
                        with suppress(Exception):
                            made.close()
                    raise _reason(ctx, pins, failures, exc) from None
            ctx.resources.callback(consumer.close, autocommit=False, timeout_ms=1000)
            yield consumer, pins, failures
        finally:
            logger.removeHandler(failures)


def _probe(ctx: Context, addresses: list[PinnedAddress]) -> None:
    failure: ConnectorError | None = None
    for address in addresses:
        try:
            open_socket(address, ctx.connect_timeout()).close()
            return
        except ConnectorError as exc:
            failure = failure or exc
            if exc.code == ErrorCode.TIMEOUT:
                raise
    assert failure is not None
    raise failure


def _call(ctx: Context, pins: _Pins, failures: _Failures, work: Any) -> Any:
    failures.seen.clear()
    try:
        with _deadline(pins, ctx.query_timeout()):
            return work()
    except ConnectorError:
        raise
    except Exception as exc:
        raise _reason(ctx, pins, failures, exc) from None


def _metadata(ctx: Context, consumer: KafkaConsumer, pins: _Pins, failures: _Failures) -> set[str]:
    """The brokers each advertise an address: all must pass the policy. Then the topics (a metadata request)."""
    cluster = consumer._cluster  # kafka-python's own metadata, read after bootstrap
    brokers = sorted(cluster.brokers(), key=lambda b: b.node_id)
    for broker in brokers:
        if pins.resolve(broker.host, broker.port) is None:
            assert pins.refused is not None
            raise ConnectorError(
                ErrorCode.BLOCKED_ADDRESS,
                f"broker {broker.node_id} advertises a refused address: {pins.refused.message}",
            )
    topics: set[str] = _call(ctx, pins, failures, consumer.topics)
    ctx.details.update(brokers=len(brokers), topics=len(topics))
    version = consumer._manager.broker_version
    if version:
        ctx.server_version = "Kafka protocol " + ".".join(str(v) for v in version)
    return topics


def check(ctx: Context) -> None:
    settings = settings_of(ctx)  # a configuration error fails before any stage (as the `connect` stage)
    with _consumer(ctx, settings) as (consumer, pins, failures), ctx.stage("metadata", _classify):
        topics = _metadata(ctx, consumer, pins, failures)
        if settings.topics:  # absent, or hidden from this user (Kafka lists only the topics one may describe)
            ctx.details["missingTopics"] = sorted(set(settings.topics) - topics)[:100]


# -- schemas ------------------------------------------------------------------------------------------------------
def avro_columns(schema: Any) -> list[tuple[str, str, bool]]:
    """(dotted path, type, nullable) of an Avro record's fields; nested records are flattened."""
    out: list[tuple[str, str, bool]] = []
    if isinstance(schema, dict) and schema.get("type") == "record":
        _avro_fields(schema.get("fields"), "", out, 0)
    elif schema is not None:
        kind, nullable = _avro_type(schema)
        out.append(("value", kind, nullable))
    return out


def _avro_type(schema: Any) -> tuple[str, bool]:
    if isinstance(schema, list):  # a union: ["null", X] is a nullable X
        branches = [s for s in schema if s != "null"]
        inner = _avro_type(branches[0])[0] if len(branches) == 1 else "union"
        return inner, "null" in schema
    if isinstance(schema, dict):
        kind = schema.get("logicalType") or schema.get("type")
        if kind == "array":
            return f"array<{_avro_type(schema.get('items'))[0]}>", False
        if kind == "map":
            return f"map<{_avro_type(schema.get('values'))[0]}>", False
        return str(kind), False
    return str(schema), schema == "null"


def _avro_fields(fields: Any, prefix: str, out: list[tuple[str, str, bool]], depth: int) -> None:
    if not isinstance(fields, list) or depth > MAX_DEPTH:
        return
    for f in fields:
        if len(out) >= MAX_FIELDS or not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        path = prefix + f["name"]
        kind, nullable = _avro_type(f.get("type"))
        out.append((path, kind, nullable))
        inner = f.get("type")
        if isinstance(inner, list):
            records = [s for s in inner if isinstance(s, dict) and s.get("type") == "record"]
            inner = records[0] if len(records) == 1 else None
        if isinstance(inner, dict) and inner.get("type") == "record":
            _avro_fields(inner.get("fields"), f"{path}.", out, depth + 1)


def json_schema_columns(schema: Any) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    _json_properties(schema, "", out, 0)
    return out


def _json_properties(schema: Any, prefix: str, out: list[tuple[str, str, bool]], depth: int) -> None:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    required = set(schema.get("required") or [])
    for name, spec in properties.items():
        if len(out) >= MAX_FIELDS or not isinstance(spec, dict):
            continue
        kinds = spec.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        real = [k for k in kinds if k != "null"]
        kind = str(spec.get("format") or real[0]) if len(real) == 1 else ("mixed" if real else "any")
        out.append((f"{prefix}{name}", kind, name not in required or "null" in kinds))
        _json_properties(spec, f"{prefix}{name}.", out, depth + 1)


def _registry(ctx: Context) -> PinnedHttp | None:
    config = ctx.target.source_config
    url = _setting(config, "schemaRegistryUrl")
    if url is None:
        return None
    base = parse_base_url(ctx, url, 443 if url.lower().startswith("https") else 80, "sourceConfig.schemaRegistryUrl")
    headers = {"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
    key = _setting(config, "schemaRegistryUsername") or _setting(config, "schemaRegistryApiKey")
    secret = _setting(config, "schemaRegistryApiSecret")
    if secret:
        ctx.scrub.add(secret)
        headers["Authorization"] = basic_auth(key or "", secret)
    return PinnedHttp(ctx, base, headers)


def registry_columns(registry: PinnedHttp, topic: str) -> tuple[list[tuple[str, str, bool]], str] | None:
    """The latest `<topic>-value` schema (Confluent Schema Registry REST API) as columns; None when none."""
    response = registry.get(f"/subjects/{quote(topic + '-value', safe='')}/versions/latest", max_bytes=MAX_SCHEMA_BYTES)
    if response.status == 404:  # 40401 subject not found, 40402 version not found
        return None
    if response.status >= 400:
        raise status_error(response.status, response.reason, str(response.json())[:300])
    answer = response.json()
    kind = str(answer.get("schemaType") or "AVRO") if isinstance(answer, dict) else "AVRO"
    try:
        schema = json.loads(answer["schema"])
    except (KeyError, TypeError, ValueError):
        if kind == "PROTOBUF":
            return [("value", "protobuf", True)], kind
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"the registry's schema of {topic} is unreadable") from None
    columns = avro_columns(schema) if kind == "AVRO" else json_schema_columns(schema)
    return columns, kind


def sample_columns(values: list[bytes | None]) -> list[tuple[str, str, bool]]:
    """Fields of JSON object values (nested objects dotted); a single `value` column for anything else."""
    documents = []
    for raw in values:
        try:
            documents.append(json.loads(raw) if raw is not None else None)
        except ValueError:
            return [("value", "bytes", True)]
    objects = [d for d in documents if isinstance(d, dict)]
    if not objects or len(objects) != len([d for d in documents if d is not None]):
        kinds = {json_type(d) for d in documents if d is not None}
        return [("value", kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "bytes", True)]
    fields: dict[str, set[str]] = {}
    present: dict[str, int] = {}

    def walk(document: dict[str, Any], prefix: str, depth: int) -> None:
        for key, value in document.items():
            path = f"{prefix}{key}"
            if path not in fields and len(fields) >= MAX_FIELDS:
                continue
            fields.setdefault(path, set()).add(json_type(value))
            if value is not None:
                present[path] = present.get(path, 0) + 1
            if isinstance(value, dict) and depth < MAX_DEPTH:
                walk(value, f"{path}.", depth + 1)

    for document in objects:
        walk(document, "", 0)
    out = []
    for path, kinds in fields.items():
        real = sorted(kinds - {"null"})
        out.append(
            (path, real[0] if len(real) == 1 else "mixed" if real else "null", present.get(path, 0) < len(objects))
        )
    return out


def _sample(ctx: Context, consumer: KafkaConsumer, topic: str, partitions: list[int], n: int) -> list[bytes | None]:
    """Up to n of the newest messages of a topic, within a slice of the deadline."""
    from kafka import TopicPartition

    assigned = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(assigned)
    ends = consumer.end_offsets(assigned, timeout_ms=_budget_ms(ctx.query_timeout()))
    starts = consumer.beginning_offsets(assigned, timeout_ms=_budget_ms(ctx.query_timeout()))
    share = max(n // max(len(assigned), 1), 1)
    for tp in assigned:
        consumer.seek(tp, max(starts.get(tp, 0), ends.get(tp, 0) - share))
    values: list[bytes | None] = []
    stop = time.monotonic() + min(SAMPLE_SECONDS_PER_TOPIC, ctx.query_timeout())
    while len(values) < n and time.monotonic() < stop:
        if all(consumer.position(tp) >= ends.get(tp, 0) for tp in assigned):
            break
        batch = consumer.poll(timeout_ms=_budget_ms(max(stop - time.monotonic(), 0.05)), max_records=n - len(values))
        for records in batch.values():
            values.extend(r.value for r in records)
    return values[:n]


def _offsets(ctx: Context, consumer: KafkaConsumer, partitions: dict[str, list[int]]) -> dict[str, int]:
    from kafka import TopicPartition

    assigned = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
    if not assigned:
        return {}
    ends = consumer.end_offsets(assigned, timeout_ms=_budget_ms(ctx.query_timeout()))
    starts = consumer.beginning_offsets(assigned, timeout_ms=_budget_ms(ctx.query_timeout()))
    rows: dict[str, int] = {}
    for tp in assigned:
        rows[tp.topic] = rows.get(tp.topic, 0) + max((ends.get(tp) or 0) - (starts.get(tp) or 0), 0)
    return rows


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    settings = settings_of(ctx)  # a configuration error fails before any stage (as the `connect` stage)
    registry = _registry(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    with _consumer(ctx, settings) as (consumer, pins, failures), ctx.stage("metadata", _classify):
        topics = _metadata(ctx, consumer, pins, failures)
        if settings.topics:
            topics &= set(settings.topics)
        selected = sorted(t for t in topics if not t.startswith(_INFRASTRUCTURE) and names(f"{SCHEMA}.{t}"))
        truncated = len(selected) > MAX_TOPICS
        selected = selected[:MAX_TOPICS]
        partitions = _call(
            ctx, pins, failures, lambda: {t: sorted(consumer.partitions_for_topic(t) or ()) for t in selected}
        )
        rows = _call(ctx, pins, failures, lambda: _offsets(ctx, consumer, partitions))
        tables, sampled, from_registry = [], 0, 0
        for topic in selected:
            value: list[tuple[str, str, bool]] | None = None
            if registry is not None:
                found = registry_columns(registry, topic)
                if found is not None:
                    value = found[0]
                    from_registry += 1
            if value is None and settings.sample and sampled < MAX_SAMPLED_TOPICS and rows.get(topic):
                messages = _call(
                    ctx, pins, failures, lambda t=topic: _sample(ctx, consumer, t, partitions[t], settings.sample)
                )
                value = sample_columns(messages)
                sampled += 1
            columns = [
                Column("partition", "integer", False, None, 1),
                Column("offset", "long", False, None, 2),
                Column("timestamp", "timestamp", True, None, 3),
                Column("key", "bytes", True, None, 4),
            ]
            value = value if value is not None else [("value", "bytes", True)]
            columns += [Column(path, kind, nullable, None, i) for i, (path, kind, nullable) in enumerate(value, 5)]
            tables.append(Table(SCHEMA, topic, "table", columns, ["partition", "offset"], rows.get(topic)))
    return DiscoveredSchema(
        tables,
        details={
            "partitions": sum(len(p) for p in partitions.values()),
            "truncated": truncated,
            "maxTopics": MAX_TOPICS,
            "sampledTopics": sampled,
            "sampleSize": settings.sample,
            "registryTopics": from_registry,
            "durationMs": round((time.monotonic() - started) * 1000, 1),
        },
    )
