"""Per-call state shared by the connectors: deadline, stage recording, secret scrubbing, network policy."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from datasource_registry.connectors.errors import (
    NOT_SECRET,
    USER_NAME_CREDENTIALS,
    ConnectorError,
    ErrorCode,
    Scrubber,
)
from datasource_registry.connectors.network import NetworkPolicy, PinnedAddress, open_socket, resolve_pinned
from datasource_registry.connectors.result import Stage
from datasource_registry.connectors.target import ConnectionTarget
from datasource_registry.secret_parts import (
    PLACEHOLDER,
    UnreadableText,
    document_words,
    loose_words,
    parse,
)

# Maps a driver exception to a stable code; returning None falls back to the generic mapping.
Classifier = Callable[[BaseException], ErrorCode | None]


def generic_code(exc: BaseException) -> ErrorCode:
    if isinstance(exc, ConnectorError):
        return exc.code
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ErrorCode.TLS_FAILED
    if isinstance(exc, TimeoutError | socket.timeout):
        return ErrorCode.TIMEOUT
    if isinstance(exc, socket.gaierror):
        return ErrorCode.DNS_FAILED
    if isinstance(exc, ConnectionError | OSError):
        return ErrorCode.UNREACHABLE
    return ErrorCode.UNEXPECTED


@dataclass
class Context:
    target: ConnectionTarget
    credentials: Mapping[str, str]
    policy: NetworkPolicy
    aws_endpoint_url: str | None
    connect_deadline: float  # monotonic time by which connecting must be done
    overall_deadline: float | None  # monotonic time by which everything must be done
    scrub: Scrubber
    stages: list[Stage] = field(default_factory=list)
    server_version: str | None = None
    ssh_host_key_fingerprint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    resources: ExitStack = field(default_factory=ExitStack)

    @classmethod
    def create(
        cls,
        target: ConnectionTarget,
        credentials: Mapping[str, str],
        policy: NetworkPolicy,
        deadline_seconds: float | None,
        aws_endpoint_url: str | None,
        *,
        whole_call_is_connect: bool,
    ) -> Context:
        now = time.monotonic()
        connect_budget = float(target.connection_timeout)
        if deadline_seconds is not None:
            connect_budget = min(connect_budget, deadline_seconds)
        overall = now + deadline_seconds if deadline_seconds is not None else None
        if whole_call_is_connect:
            overall = now + connect_budget
        values = {k: v for k, v in credentials.items() if isinstance(v, str) and k not in NOT_SECRET}
        names = [v for k, v in values.items() if k in USER_NAME_CREDENTIALS]
        secrets = [v for k, v in values.items() if k not in USER_NAME_CREDENTIALS]
        # What the strings and documents themselves hold (an unsaved test sends them whole): secrets and user names.
        if target.connection_string:
            try:
                parsed = parse(target.connection_string)
            except UnreadableText:
                # A string the registry cannot read is withheld wherever a library quotes it, or a part of it.
                secrets.extend([target.connection_string, *loose_words(target.connection_string)])
            else:
                names.extend(name for name in parsed.usernames if name)
                secrets.extend(slot.value for slot in parsed.slots if slot.value != PLACEHOLDER)
        if target.ssh_username:
            names.append(target.ssh_username)
        secrets.extend(document_words(target.source_config))
        return cls(
            target=target,
            credentials=credentials,
            policy=policy,
            aws_endpoint_url=aws_endpoint_url,
            connect_deadline=now + connect_budget,
            overall_deadline=overall,
            scrub=Scrubber(secrets, names),
        )

    def connect_timeout(self) -> float:
        """Seconds left to establish a connection (and, for a test, to finish)."""
        return self.connect_deadline - time.monotonic()

    def query_timeout(self) -> float:
        """Seconds one metadata query may take: query_timeout, capped by the overall deadline."""
        budget = float(self.target.query_timeout)
        if self.overall_deadline is not None:
            budget = min(budget, self.overall_deadline - time.monotonic())
        if budget <= 0:
            raise ConnectorError(ErrorCode.TIMEOUT, "the deadline passed before the metadata could be read")
        return budget

    def credential(self, name: str) -> str | None:
        value = self.credentials.get(name)
        return value if isinstance(value, str) and value != "" else None

    @contextmanager
    def stage(self, name: str, classify: Classifier | None = None) -> Iterator[None]:
        """Time a stage; a failure becomes a scrubbed ConnectorError with a stable code."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            code = (classify(exc) if classify and not isinstance(exc, ConnectorError) else None) or generic_code(exc)
            message = self.scrub(exc.message if isinstance(exc, ConnectorError) else _describe(exc))
            self.stages.append(Stage(name, False, (time.perf_counter() - started) * 1000, message))
            raise ConnectorError(code, message) from None
        self.stages.append(Stage(name, True, (time.perf_counter() - started) * 1000))

    def reach(self, host: str | None, port: int) -> PinnedAddress:
        """Where the driver should connect: the pinned address of `host`, or the SSH tunnel's local end."""
        if not host:
            with self.stage("resolve"):
                raise ConnectorError(ErrorCode.INVALID_CONFIG, "host is required")
        assert host is not None
        if self.target.use_ssh_tunnel:
            from datasource_registry.connectors.tunnel import open_tunnel

            return open_tunnel(self, host, port)
        with self.stage("resolve"):
            return resolve_pinned(host, port, self.policy, self.connect_timeout())

    def open(self, address: PinnedAddress, *, tls_server_name: str | None = None) -> socket.socket:
        """The "connect" stage: TCP (and TLS) to the pinned address, closed when the call ends."""
        with self.stage("connect"):
            sock = open_socket(address, self.connect_timeout())
            self.resources.callback(sock.close)
            if tls_server_name is not None:
                sock.settimeout(max(self.connect_timeout(), 0.1))
                # SNI and the certificate check use the name the user gave, not the pinned IP.
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=tls_server_name)
                self.resources.callback(sock.close)
        return sock


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:1000]
