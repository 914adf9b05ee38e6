"""What the local protocol listeners (cql_listener, mongo_listener) share: a TCP server on a thread that hands each
connection (wrapped in TLS first when given a server context) to a session function, and exact-length reads."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def serving(
    host: str,
    port: int,
    session: Callable[[socket.socket], None],
    *,
    accepted: Callable[[tuple[str, int], int], None] = lambda peer, port: None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[int]:
    """Listen on (host, port); yield the bound port; every connection runs `session` on its own thread (after
    `accepted(peer, port)`), inside TLS when `tls` is a server context. All sockets close on exit."""
    listener = socket.create_server((host, port))
    bound = int(listener.getsockname()[1])
    sockets: list[socket.socket] = [listener]

    def talk(conn: socket.socket) -> None:
        if tls is not None:
            try:
                conn.settimeout(10)
                conn = tls.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except OSError:  # the client refused our certificate, or spoke no TLS
                conn.close()
                return
            sockets.append(conn)
        session(conn)

    def serve() -> None:
        while True:
            try:
                conn, peer = listener.accept()
            except OSError:
                return
            accepted(peer, bound)
            sockets.append(conn)
            threading.Thread(target=talk, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield bound
    finally:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.close()


def read_exactly(conn: socket.socket, size: int) -> bytes | None:
    """`size` bytes, or None when the peer closes first."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def certificates(name: str) -> tuple[str, str, str]:
    """A CA (PEM), and a server certificate for `name` it signed with its key (PEM): made fresh per test."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return ca.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), key_pem


def server_context(certificate: str, key: str, directory: Path) -> ssl.SSLContext:
    """A TLS server context presenting `certificate` (PEM) with `key` (PEM), its files written to `directory`."""
    (directory / "cert.pem").write_text(certificate)
    (directory / "key.pem").write_text(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context
