"""A LOCAL LISTENER, NOT A MONGODB SERVER: it answers the MongoDB wire protocol (OP_QUERY handshakes with OP_REPLY,
OP_MSG with OP_MSG, as the wire protocol documentation lays them out) from a fixed `hello` document and `ok: 1`
for every other command. It exists for what NX-27017 cannot play: a replica-set member whose `hello` names other
members (and a primary elsewhere), so a test can see whether pymongo goes there. It records every connection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .wire import read_exactly, serving

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


@dataclass
class MongoListener:
    port: int
    hello: dict[str, Any]
    connections: int = 0
    commands: list[str] = field(default_factory=list)


@contextlib.contextmanager
def mongo_listener(hello: Mapping[str, Any], *, host: str = "127.0.0.1", port: int = 0) -> Iterator[MongoListener]:
    state = MongoListener(0, dict(hello))

    def accepted(peer: tuple[str, int], bound: int) -> None:
        state.connections += 1

    with serving(host, port, lambda conn: _session(conn, state), accepted=accepted) as bound:
        state.port = bound
        yield state


def _session(conn: socket.socket, state: MongoListener) -> None:
    import bson

    with contextlib.suppress(OSError, ConnectionError):
        while True:
            header = read_exactly(conn, 16)
            if header is None:
                return
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            body = read_exactly(conn, length - 16)
            if body is None:
                return
            if opcode == OP_QUERY:
                end = body.index(b"\0", 4) + 1
                command = bson.decode(body[end + 8 :][: struct.unpack("<i", body[end + 8 : end + 12])[0]])
                reply = bson.encode(_answer(state, command))
                payload = struct.pack("<iqii", 0, 0, 0, 1) + reply
                conn.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_REPLY) + payload)
            elif opcode == OP_MSG:
                size = struct.unpack("<i", body[5:9])[0]  # flagBits, then section kind 0: one document
                command = bson.decode(body[5 : 5 + size])
                payload = struct.pack("<I", 0) + b"\0" + bson.encode(_answer(state, command))
                conn.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_MSG) + payload)
            else:
                return


def _answer(state: MongoListener, command: Mapping[str, Any]) -> dict[str, Any]:
    import datetime

    name = next(iter(command))
    state.commands.append(name)
    if name.lower() in {"hello", "ismaster"}:
        return {**state.hello, "localTime": datetime.datetime.now(datetime.UTC), "ok": 1.0}
    if name == "buildInfo":
        return {"version": "7.0.14", "ok": 1.0}
    return {"ok": 1.0}
