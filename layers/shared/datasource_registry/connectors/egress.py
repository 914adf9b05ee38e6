"""Keeps a driver on the pinned address: while a driver runs, its thread may resolve and connect to nothing else.

Drivers that open their own sockets (python-oracledb's thin mode) or follow a server's redirect (TDS routing,
Oracle listener redirects) would otherwise resolve and reach an address the network policy never checked. A
process-wide audit hook (sys.addaudithook: `socket.getaddrinfo` and `socket.connect` are audited events, whoever
calls them, C extensions included) refuses, in the guarded thread only, any name or address but the pinned one.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import PinnedAddress

_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo"})
_guarded = threading.local()
_installed = threading.Lock()
_hooked: list[bool] = []  # one entry once the hook is in


class EgressRefused(ConnectorError, OSError):
    """The driver tried to reach something other than the pinned address. An OSError too, so a driver that tries
    each address of a name (socket.create_connection) goes on to the next one, the pinned one."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BLOCKED_ADDRESS, message)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _EVENTS:
        return
    guard: Guard | None = getattr(_guarded, "guard", None)
    if guard is None:
        return
    allowed = guard.allowed
    if event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if host not in guard.names:
            raise EgressRefused(f"the driver tried to resolve {host} itself; only the checked address may be used")
        return
    address = args[1]
    if isinstance(address, tuple) and len(address) >= 2 and (address[0], address[1]) != allowed:
        raise EgressRefused(f"the driver tried to reach {address[0]}:{address[1]}, which was not checked")
    if isinstance(args[0], socket.socket):
        guard.sockets.append(args[0])
        guard.descriptors.append(args[0].fileno())


def _install() -> None:
    with _installed:
        if not _hooked:
            sys.addaudithook(_audit)  # cannot be removed: it does nothing outside `Guard.within`
            _hooked.append(True)


class Guard:
    """One connection's guard: the only address its driver may use, and the sockets it opened there, which a
    watchdog shuts down when a stage's time is up (a driver blocked in recv with no timeout of its own then
    returns, and the stage fails with TIMEOUT)."""

    def __init__(self, address: PinnedAddress, *, resolvable: str | None = None) -> None:
        self.allowed = (address.ip, address.port)
        # A name the driver may resolve itself (for a TLS check on the name), its connection still pinned.
        self.names = {address.ip} | ({resolvable} if resolvable else set())
        self.sockets: list[socket.socket] = []
        self.descriptors: list[int] = []

    def _expire(self, fired: threading.Event) -> None:
        fired.set()
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # A driver may have handed its socket to ssl.wrap_socket, which detaches the object we saw: reach the
        # connection through its descriptor, if that descriptor still holds a connection to the pinned address.
        for fd in self.descriptors:
            with suppress(OSError), socket.socket(fileno=os.dup(fd)) as twin:
                if twin.getpeername()[:2] == self.allowed:
                    twin.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def within(self, seconds: float, what: str) -> Iterator[None]:
        """Within this block this thread reaches the pinned address only, and for at most `seconds`."""
        _install()
        previous = getattr(_guarded, "guard", None)
        _guarded.guard = self
        fired = threading.Event()
        timer = threading.Timer(max(seconds, 0.0), self._expire, args=(fired,))
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as exc:
            if fired.is_set() and refused_in(exc) is None:
                raise ConnectorError(ErrorCode.TIMEOUT, f"{what} did not finish within {seconds:.1f}s") from None
            raise
        finally:
            timer.cancel()
            _guarded.guard = previous


def refused_in(exc: BaseException) -> EgressRefused | None:
    """The guard's refusal, when a driver wrapped it in an error of its own."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, EgressRefused):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
