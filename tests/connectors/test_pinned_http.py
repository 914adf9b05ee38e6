"""pinned_http's client against a raw local HTTP/1.1 listener: a kept-alive connection the server closed while idle
is replaced (once, to the same pinned address); a new connection the server drops is not tried again."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError
from datasource_registry.connectors.pinned_http import BaseUrl, PinnedHttp
from datasource_registry.connectors.target import ConnectionTarget
from tests.connectors.conftest import LOOPBACK, serve_connections

pytestmark = pytest.mark.server

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'


@dataclass
class Listener:
    port: int
    answer: bool  # False: every connection is closed as soon as a request arrives, unanswered
    connections: int = 0
    requests: int = 0
    closed: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def listener(request: pytest.FixtureRequest) -> Iterator[Listener]:
    """Answers one request per connection (keep-alive, no `Connection: close`), then closes it while idle."""
    server = socket.create_server(("127.0.0.1", 0))
    state = Listener(int(server.getsockname()[1]), answer=getattr(request, "param", True))

    def session(conn: socket.socket) -> None:
        state.connections += 1
        with contextlib.suppress(OSError), conn:
            data = b""
            while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                data += chunk
            if data:
                state.requests += 1
                if state.answer:
                    conn.sendall(ANSWER)
        state.closed.set()

    serve_connections(server, session)
    yield state
    server.close()


def _client(port: int, deadline: float = 5.0) -> tuple[Context, PinnedHttp]:
    target = ConnectionTarget(type="elasticsearch", host="127.0.0.1", port=port, connection_timeout=5)
    ctx = Context.create(target, {}, LOOPBACK, deadline, None, whole_call_is_connect=False)
    return ctx, PinnedHttp(ctx, BaseUrl("http", "127.0.0.1", port, ""), {})


def test_a_kept_alive_connection_closed_while_idle_is_replaced_once(listener: Listener) -> None:
    ctx, client = _client(listener.port)
    with ctx.resources:
        assert client.get("/").json() == {"ok": True}
        assert listener.closed.wait(5)  # the server has closed the kept-alive connection
        assert client.get("/").json() == {"ok": True}
    assert (listener.connections, listener.requests) == (2, 2)
    assert [s.name for s in ctx.stages] == ["resolve", "connect"]  # resolved once; the reconnect is no new stage


@pytest.mark.parametrize("listener", [False], indirect=True)
def test_a_new_connection_dropped_without_an_answer_is_not_tried_again(listener: Listener) -> None:
    ctx, client = _client(listener.port)
    with ctx.resources, pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        client.get("/")
    assert (listener.connections, listener.requests) == (1, 1)


def test_an_answer_trickled_past_the_deadline_is_a_timeout_within_it() -> None:
    """A byte every 0.1 s never lets one read time out: only the check of the time left between reads ends it."""
    server = socket.create_server(("127.0.0.1", 0))

    def trickle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
            for _ in range(200):
                conn.sendall(b" ")
                time.sleep(0.1)

    serve_connections(server, lambda conn: threading.Thread(target=trickle, args=(conn,), daemon=True).start())
    ctx, client = _client(int(server.getsockname()[1]), deadline=1.0)
    started = time.monotonic()
    try:
        with ctx.resources, pytest.raises(ConnectorError) as raised:
            client.get("/")
    finally:
        server.close()
    assert raised.value.code == "TIMEOUT"
    assert time.monotonic() - started < 3
