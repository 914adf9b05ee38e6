"""A LOCAL LISTENER, NOT A CASSANDRA SERVER: it speaks just enough of the CQL native protocol v4 (frames as the
protocol specification, native_protocol_v4.spec, lays them out) for cassandra-driver's handshake (OPTIONS, STARTUP,
PasswordAuthenticator's AUTHENTICATE / AUTH_RESPONSE, REGISTER) and answers SELECTs from fixture tables shaped as
Cassandra's system and system_schema tables are documented. No Cassandra or Scylla server can be installed here
(none on PyPI, Debian or npm; Maven Central is out of reach), so the driver's real network behaviour is checked
against this, and the engine itself only by the opt-in live test (DS_LIVE_CASSANDRA_HOST).

It records every connection and query, so a test can assert where the driver went and what it asked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import ssl
import struct
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .wire import read_exactly, serving

# Opcodes (spec section 2.4).
ERROR, STARTUP, READY, AUTHENTICATE, OPTIONS, SUPPORTED, QUERY, RESULT = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08
REGISTER, AUTH_RESPONSE, AUTH_SUCCESS = 0x0B, 0x0F, 0x10
# Types (spec section 6) by the names the fixtures use.
TYPES = {
    "bigint": 0x0002,
    "text": 0x000D,
    "int": 0x0009,
    "uuid": 0x000C,
    "inet": 0x0010,
    "boolean": 0x0004,
    "set<text>": 0x0022,
}
SERVER_ERROR, PROTOCOL_ERROR, BAD_CREDENTIALS, UNAUTHORIZED, INVALID = 0x0000, 0x000A, 0x0100, 0x2100, 0x2200

Table = tuple[Mapping[str, str], list[dict[str, Any]]]  # column -> type, rows


def system_tables(port: int, peers_v2: Sequence[dict[str, Any]] = ()) -> dict[str, Table]:
    """system.local and system.peers_v2 as Cassandra 4 documents them (the columns the driver reads)."""
    local = {
        "key": "text",
        "host_id": "uuid",
        "cluster_name": "text",
        "data_center": "text",
        "rack": "text",
        "partitioner": "text",
        "release_version": "text",
        "schema_version": "uuid",
        "rpc_address": "inet",
        "rpc_port": "int",
        "broadcast_address": "inet",
        "listen_address": "inet",
        "native_protocol_version": "text",
        "cql_version": "text",
    }
    peers = {
        "peer": "inet",
        "peer_port": "int",
        "host_id": "uuid",
        "data_center": "text",
        "rack": "text",
        "native_address": "inet",
        "native_port": "int",
        "release_version": "text",
        "schema_version": "uuid",
    }
    schema_version = uuid.UUID("5c0c0a3e-0d1e-4a35-9a49-4d0f1b5e8c11")
    return {
        "system.local": (
            local,
            [
                {
                    "key": "local",
                    "host_id": uuid.UUID("11111111-2222-3333-4444-555555555555"),
                    "cluster_name": "Test Cluster",
                    "data_center": "datacenter1",
                    "rack": "rack1",
                    "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
                    "release_version": "4.1.5",
                    "schema_version": schema_version,
                    "rpc_address": "127.0.0.1",
                    "rpc_port": port,
                    "broadcast_address": "127.0.0.1",
                    "listen_address": "127.0.0.1",
                    "native_protocol_version": "5",
                    "cql_version": "3.4.6",
                }
            ],
        ),
        "system.peers_v2": (peers, [{"schema_version": schema_version, **row} for row in peers_v2]),
    }


@dataclass
class CqlListener:
    port: int
    tables: dict[str, Table]
    credentials: tuple[str, str] | None = None  # (user, password) to require PasswordAuthenticator
    denied_tables: set[str] = field(default_factory=set)  # answered with Unauthorized
    connections: list[tuple[str, int]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


@contextlib.contextmanager
def cql_listener(
    tables: dict[str, Table] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    credentials: tuple[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[CqlListener]:
    """`tls`: a server context, for a node with client_encryption_options enabled (TLS from the first byte)."""
    state = CqlListener(0, {}, credentials)

    def accepted(peer: tuple[str, int], bound: int) -> None:
        state.connections.append((peer[0], bound))

    with serving(host, port, lambda conn: _session(conn, state), accepted=accepted, tls=tls) as bound:
        state.port = bound
        state.tables = tables if tables is not None else system_tables(bound)
        yield state


def _session(conn: socket.socket, state: CqlListener) -> None:
    authenticated = state.credentials is None
    with contextlib.suppress(OSError, ConnectionError):
        while True:
            header = read_exactly(conn, 9)
            if header is None:
                return
            version, _flags, stream, opcode, length = struct.unpack(">BBhBi", header)
            body = read_exactly(conn, length) if length else b""
            if body is None:
                return
            if version & 0x7F != 4:
                # What Cassandra answers a version it does not speak; the driver then tries a lower one.
                _send(
                    conn,
                    version & 0x7F,
                    stream,
                    ERROR,
                    _error(
                        PROTOCOL_ERROR,
                        f"Invalid or unsupported protocol version ({version & 0x7F}); supported versions are (3/v3, 4/v4, 5/v5)",
                    ),
                )
                continue
            if opcode == OPTIONS:
                _send(conn, 4, stream, SUPPORTED, _multimap({"CQL_VERSION": ["3.4.6"], "COMPRESSION": []}))
            elif opcode == STARTUP:
                if state.credentials is None:
                    _send(conn, 4, stream, READY, b"")
                else:
                    _send(conn, 4, stream, AUTHENTICATE, _string("org.apache.cassandra.auth.PasswordAuthenticator"))
            elif opcode == AUTH_RESPONSE:
                token = _bytes_at(body, 0) or b""
                _, user, password = [*token.split(b"\0"), b"", b""][:3]
                state.logins.append(user.decode())
                if state.credentials == (user.decode(), password.decode()):
                    authenticated = True
                    _send(conn, 4, stream, AUTH_SUCCESS, struct.pack(">i", -1))
                else:
                    message = "Provided username and/or password are incorrect"
                    _send(conn, 4, stream, ERROR, _error(BAD_CREDENTIALS, message))
            elif opcode == REGISTER:
                _send(conn, 4, stream, READY, b"")
            elif opcode == QUERY:
                length = struct.unpack(">i", body[:4])[0]
                query = body[4 : 4 + length].decode()
                state.queries.append(query)
                if not authenticated:
                    _send(conn, 4, stream, ERROR, _error(UNAUTHORIZED, "not authenticated"))
                else:
                    opcode_out, payload = _answer(state, query)
                    _send(conn, 4, stream, opcode_out, payload)
            else:
                _send(conn, 4, stream, ERROR, _error(PROTOCOL_ERROR, f"opcode {opcode} is not served here"))


_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<columns>.+?)\s+FROM\s+(?P<table>[\w.]+)(?:\s+WHERE\s+(?P<where>.+?))?\s*;?\s*$", re.I | re.S
)
_CONDITION = re.compile(r"(\w+)\s*=\s*'((?:[^']|'')*)'")


def _answer(state: CqlListener, query: str) -> tuple[int, bytes]:
    match = _SELECT.match(query)
    if not match:
        return ERROR, _error(INVALID, f"line 1:0 no viable alternative at input {query[:40]!r}")
    name = match["table"].lower()
    if name in state.denied_tables:
        return ERROR, _error(UNAUTHORIZED, f"User has no SELECT permission on <table {name}> or any of its parents")
    if name not in state.tables:
        keyspace, _, table = name.partition(".")
        return ERROR, _error(INVALID, f"unconfigured table {table}")
    types, rows = state.tables[name]
    columns = list(types) if match["columns"].strip() == "*" else [c.strip() for c in match["columns"].split(",")]
    for column in columns:
        if column not in types:
            return ERROR, _error(INVALID, f"Undefined column name {column} in table {name}")
    conditions = {k: v.replace("''", "'") for k, v in _CONDITION.findall(match["where"] or "")}
    selected = [row for row in rows if all(str(row.get(k)) == v for k, v in conditions.items())]
    keyspace, _, table = name.partition(".")
    metadata = struct.pack(">ii", 0x0001, len(columns)) + _string(keyspace) + _string(table)
    for column in columns:
        metadata += _string(column) + _type(types[column])
    out = struct.pack(">i", 0x0002) + metadata + struct.pack(">i", len(selected))
    for row in selected:
        for column in columns:
            out += _value(types[column], row.get(column))
    return RESULT, out


def _type(name: str) -> bytes:
    if name == "set<text>":
        return struct.pack(">HH", 0x0022, 0x000D)
    return struct.pack(">H", TYPES[name])


def _value(type_name: str, value: Any) -> bytes:
    if value is None:
        return struct.pack(">i", -1)
    if type_name == "text":
        data = str(value).encode()
    elif type_name == "int":
        data = struct.pack(">i", int(value))
    elif type_name == "bigint":
        data = struct.pack(">q", int(value))
    elif type_name == "uuid":
        data = uuid.UUID(str(value)).bytes
    elif type_name == "inet":
        data = ipaddress.ip_address(value).packed
    elif type_name == "boolean":
        data = b"\x01" if value else b"\x00"
    elif type_name == "set<text>":
        items = [str(v).encode() for v in value]
        data = struct.pack(">i", len(items)) + b"".join(struct.pack(">i", len(i)) + i for i in items)
    else:
        raise ValueError(type_name)
    return struct.pack(">i", len(data)) + data


def _send(conn: socket.socket, version: int, stream: int, opcode: int, body: bytes) -> None:
    conn.sendall(struct.pack(">BBhBi", 0x80 | version, 0, stream, opcode, len(body)) + body)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _multimap(values: Mapping[str, list[str]]) -> bytes:
    out = struct.pack(">H", len(values))
    for key, items in values.items():
        out += _string(key) + struct.pack(">H", len(items)) + b"".join(_string(i) for i in items)
    return out


def _error(code: int, message: str) -> bytes:
    return struct.pack(">i", code) + _string(message)


def _bytes_at(body: bytes, offset: int) -> bytes | None:
    length = struct.unpack(">i", body[offset : offset + 4])[0]
    return None if length < 0 else body[offset + 4 : offset + 4 + length]
