"""SSH tunnels (paramiko): check the bastion's host key, then forward a local port to the target."""

from __future__ import annotations

import base64
import hashlib
import io
import select
import socket
import threading
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, Protocol

from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.network import (
    NetworkPolicy,
    PinnedAddress,
    check_literal,
    open_socket,
    resolve_pinned,
)
from datasource_registry.connectors.target import ConnectionTarget

if TYPE_CHECKING:
    import paramiko


class TunnelContext(Protocol):
    """What a tunnel needs of a connector's context (connectors/context.Context is one)."""

    target: ConnectionTarget
    policy: NetworkPolicy
    resources: ExitStack
    ssh_host_key_fingerprint: str | None

    def stage(self, name: str) -> AbstractContextManager[None]: ...

    def credential(self, name: str) -> str | None: ...

    def connect_timeout(self) -> float: ...


def fingerprint(key_bytes: bytes) -> str:
    """OpenSSH's form: SHA256:<unpadded base64 of the key blob's sha256>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")


def _load_private_key(text: str, passphrase: str | None) -> paramiko.PKey:
    import paramiko

    last: Exception | None = None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException as exc:
            raise ConnectorError(ErrorCode.AUTH_FAILED, "the SSH private key needs a passphrase") from exc
        except (paramiko.SSHException, ValueError) as exc:
            last = exc
    raise ConnectorError(ErrorCode.INVALID_CONFIG, f"the SSH private key cannot be read: {last}")


def open_tunnel(ctx: TunnelContext, remote_host: str, remote_port: int) -> PinnedAddress:
    """The "tunnel" stage; returns the local address that reaches remote_host:remote_port through SSH."""
    import paramiko

    target = ctx.target
    with ctx.stage("tunnel"):
        if not target.ssh_host or not target.ssh_username:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "ssh_host and ssh_username are required for an SSH tunnel")
        key_text = ctx.credential("ssh_private_key")
        if key_text is None:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "credentials.ssh_private_key is required for an SSH tunnel")
        # The bastion resolves the target itself; still refuse metadata/internal IP literals.
        check_literal(remote_host, ctx.policy)
        bastion = resolve_pinned(target.ssh_host, target.ssh_port, ctx.policy, ctx.connect_timeout())
        sock = open_socket(bastion, ctx.connect_timeout())
        transport = paramiko.Transport(sock)
        ctx.resources.callback(transport.close)
        timeout = max(ctx.connect_timeout(), 0.1)
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        try:
            transport.start_client(timeout=timeout)
        except paramiko.SSHException as exc:
            code = ErrorCode.TIMEOUT if ctx.connect_timeout() <= 0 else ErrorCode.PROTOCOL_ERROR
            raise ConnectorError(code, f"SSH handshake with {target.ssh_host} failed: {exc}") from exc
        observed = fingerprint(transport.get_remote_server_key().asbytes())
        ctx.ssh_host_key_fingerprint = observed
        pinned = (target.ssh_host_key_fingerprint or "").strip()
        if pinned and pinned.rstrip("=") != observed:
            # Never authenticate to a host whose key does not match the pin.
            raise ConnectorError(
                ErrorCode.HOST_KEY_MISMATCH,
                f"SSH host key of {target.ssh_host} is {observed}, expected {pinned}",
            )
        key = _load_private_key(key_text, ctx.credential("ssh_passphrase"))
        try:
            transport.auth_publickey(target.ssh_username, key)
        except paramiko.AuthenticationException as exc:
            raise ConnectorError(ErrorCode.AUTH_FAILED, f"SSH authentication as {target.ssh_username} failed") from exc
        except paramiko.SSHException as exc:
            raise ConnectorError(ErrorCode.TIMEOUT, f"SSH authentication did not finish: {exc}") from exc
        forwarder = _Forwarder(transport, remote_host, remote_port, timeout)
        ctx.resources.callback(forwarder.close)
        forwarder.probe()
    return PinnedAddress(host=remote_host, ip="127.0.0.1", port=forwarder.port, family=socket.AF_INET)


class _Forwarder:
    """A loopback listener whose every connection becomes a direct-tcpip channel to the remote target."""

    def __init__(self, transport: paramiko.Transport, host: str, port: int, timeout: float) -> None:
        self._transport, self._remote, self._timeout = transport, (host, port), timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True, name="ssh-forward").start()

    def _open_channel(self) -> paramiko.Channel:
        import paramiko

        try:
            return self._transport.open_channel("direct-tcpip", self._remote, ("127.0.0.1", 0), timeout=self._timeout)
        except paramiko.ChannelException as exc:
            raise ConnectorError(
                ErrorCode.UNREACHABLE, f"the SSH host cannot reach {self._remote[0]}:{self._remote[1]}: {exc}"
            ) from exc
        except paramiko.SSHException as exc:
            raise ConnectorError(ErrorCode.TIMEOUT, f"opening the SSH channel failed: {exc}") from exc

    def probe(self) -> None:
        self._open_channel().close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                channel = self._open_channel()
            except ConnectorError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, channel), daemon=True, name="ssh-pump").start()

    def _pump(self, client: socket.socket, channel: paramiko.Channel) -> None:
        try:
            while not self._closed.is_set():
                readable, _, _ = select.select([client.fileno(), channel.fileno()], [], [], 0.5)
                if client.fileno() in readable:
                    data = client.recv(65536)
                    if not data:
                        break
                    channel.sendall(data)
                if channel.fileno() in readable:
                    data = channel.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
        except OSError:
            pass
        finally:
            channel.close()
            client.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
