"""SQL Server (python-tds) and Oracle (python-oracledb thin) against local listeners: no server of either engine
runs on this machine (neither is on PyPI, Debian or npm), so these drive the real drivers over real sockets to
listeners that refuse, stay silent, or answer a TDS PRELOGIN and then garbage. Live servers: test_*_live below,
run only when DS_LIVE_SQLSERVER_URL / DS_LIVE_ORACLE_URL are set."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectorError,
    NetworkPolicy,
    check_connection,
    discover_schema,
    egress,
)
from datasource_registry.connectors.network import PinnedAddress

from .conftest import LOOPBACK, SshServer, free_port
from .wire import certificates, server_context

NOTHING_ALLOWED = NetworkPolicy.from_string("")
PASSWORD = "pw-Zq81-secret"
CREDENTIALS = {"username": "reader", "password": PASSWORD}
ENGINES = ["sqlserver", "oracle"]
pytestmark = pytest.mark.server  # real sockets to loopback listeners


def target(kind: str, port: int, **overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {
        "type": kind,
        "host": "127.0.0.1",
        "port": port,
        "database_name": "analytics",
        "connection_timeout": 3,
    }
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


class Listener:
    """A loopback TCP listener that counts connections and answers each request with the next scripted reply."""

    def __init__(self, replies: list[bytes]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.accepted = 0
        self.received: list[bytes] = []
        self._replies = replies
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            self._open.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            for reply in self._replies:
                data = conn.recv(65536)
                if not data:
                    return
                self.received.append(data)
                conn.sendall(reply)
            time.sleep(10)  # then silent, never closing first
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Callable[[list[bytes]], Listener]]:
    made: list[Listener] = []

    def make(replies: list[bytes]) -> Listener:
        made.append(Listener(replies))
        return made[-1]

    yield make
    for item in made:
        item.close()


def prelogin_reply(encryption: int) -> bytes:
    """A TDS PRELOGIN response (MS-TDS 2.2.6.5): VERSION and ENCRYPTION options, in a REPLY (0x04) packet."""
    options = bytes([0x00]) + struct.pack(">HH", 11, 6) + bytes([0x01]) + struct.pack(">HH", 17, 1) + b"\xff"
    body = options + bytes([16, 0, 0x07, 0xD0, 0, 0]) + bytes([encryption])
    return struct.pack(">BBHHBB", 0x04, 0x01, 8 + len(body), 0, 1, 0) + body


ENCRYPT_OFF, ENCRYPT_NOT_SUP = 0x00, 0x02


def errors_reply(*errors: tuple[int, int, str]) -> bytes:
    """A login answer of ERROR tokens (MS-TDS 2.2.7.10: number, state, class, text, server, procedure, line), then
    DONE with its error bit, as SQL Server refuses a login."""
    body = b""
    for number, severity, text in errors:
        message, server = text.encode("utf-16-le"), "sql1".encode("utf-16-le")
        token = struct.pack("<iBB", number, 1, severity) + struct.pack("<H", len(text)) + message
        token += bytes([len(server) // 2]) + server + b"\x00" + struct.pack("<i", 1)
        body += bytes([0xAA]) + struct.pack("<H", len(token)) + token
    body += bytes([0xFD]) + struct.pack("<HHQ", 0x02, 0, 0)
    return struct.pack(">BBHHBB", 0x04, 0x01, 8 + len(body), 0, 1, 0) + body


def routing_reply(server: str, port: int) -> bytes:
    """A login answer that redirects the client (MS-TDS 2.2.7.9 ENVCHANGE type 20, as Azure SQL gateways send):
    LOGINACK, ENVCHANGE routing to server:port, DONE."""
    name = "Microsoft SQL Server".encode("utf-16-le")
    loginack = bytes([0xAD]) + struct.pack("<H", 10 + len(name)) + b"\x01" + bytes.fromhex("74000004")
    loginack += bytes([len(name) // 2]) + name + bytes.fromhex("10000000")
    alt = server.encode("utf-16-le")
    routing = bytes([0]) + struct.pack("<H", port) + struct.pack("<H", len(alt) // 2) + alt
    value = struct.pack("<H", len(routing)) + routing
    envchange = bytes([0xE3]) + struct.pack("<H", 1 + len(value) + 2) + bytes([20]) + value + b"\x00\x00"
    done = bytes([0xFD]) + struct.pack("<HHQ", 0, 0, 0)
    body = loginack + envchange + done
    return struct.pack(">BBHHBB", 0x04, 0x01, 8 + len(body), 0, 1, 0) + body


# --- every engine: refused, silent, blocked -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENGINES)
def test_a_closed_port_is_unreachable_at_the_connect_stage_quickly(kind: str) -> None:
    started = time.monotonic()

    result = check_connection(target(kind, free_port()), CREDENTIALS, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert [s.name for s in result.stages] == ["resolve", "connect"]
    assert time.monotonic() - started < 4  # a refusal, not the connection timeout: room for a loaded machine
    assert PASSWORD not in repr(result.to_dict())


@pytest.mark.parametrize("kind", ENGINES)
def test_a_server_that_accepts_and_never_answers_times_out_within_the_connection_timeout(
    kind: str, silent_server: int
) -> None:
    started = time.monotonic()

    result = check_connection(target(kind, silent_server, connection_timeout=2), CREDENTIALS, LOOPBACK)

    elapsed = time.monotonic() - started
    assert result.error_code == "TIMEOUT"
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    assert 1.5 < elapsed < 4, elapsed
    assert PASSWORD not in repr(result.to_dict())


@pytest.mark.parametrize("kind", ENGINES)
def test_the_smaller_deadline_wins_over_the_connection_timeout(kind: str, silent_server: int) -> None:
    started = time.monotonic()

    result = check_connection(
        target(kind, silent_server, connection_timeout=60), CREDENTIALS, LOOPBACK, deadline_seconds=2
    )

    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("kind", ENGINES)
def test_discovery_against_a_silent_server_fails_with_timeout_within_the_deadline(
    kind: str, silent_server: int
) -> None:
    started = time.monotonic()

    with pytest.raises(ConnectorError) as caught:
        discover_schema(target(kind, silent_server, connection_timeout=2), CREDENTIALS, LOOPBACK, deadline_seconds=30)

    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("kind", ENGINES)
@pytest.mark.parametrize("host", ["169.254.169.254", "0xa9fea9fe", "[::ffff:169.254.169.254]", "fd00:ec2::254"])
def test_metadata_addresses_are_blocked_even_when_every_network_is_allowed(kind: str, host: str) -> None:
    everything = NetworkPolicy.from_string("0.0.0.0/0, ::/0")

    result = check_connection(target(kind, 1433, host=host), CREDENTIALS, everything)

    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve"]


@pytest.mark.parametrize("kind", ENGINES)
def test_a_blocked_address_is_refused_before_any_packet_is_sent(kind: str, listener: Callable[..., Listener]) -> None:
    # Given a listener on loopback, and a policy that does not open loopback
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP)])

    result = check_connection(target(kind, server.port), CREDENTIALS, NOTHING_ALLOWED)

    # Then the test stops at resolve and the listener never saw a connection
    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve"]
    time.sleep(0.2)
    assert server.accepted == 0


@pytest.mark.parametrize("kind", ENGINES)
def test_a_blocked_address_in_a_connection_string_is_refused(kind: str) -> None:
    scheme = "sqlserver" if kind == "sqlserver" else "oracle"
    text = f"{scheme}://reader:{PASSWORD}@169.254.169.254:1521/analytics"

    with pytest.raises(ConnectorError) as caught:
        discover_schema(ConnectionTarget(type=kind, connection_string=text), {}, LOOPBACK)

    assert caught.value.code == "BLOCKED_ADDRESS"
    assert PASSWORD not in caught.value.message


# --- SQL Server: a listener that speaks a little TDS ----------------------------------------------------------------


def test_sqlserver_a_prelogin_answer_then_garbage_is_a_protocol_error(listener: Callable[..., Listener]) -> None:
    # Given a server that answers the PRELOGIN as SQL Server does (no encryption), then answers the login with junk
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), b"\xde\xad\xbe\xef" * 16])

    result = check_connection(target("sqlserver", server.port, source_config={"encrypt": False}), CREDENTIALS, LOOPBACK)

    assert result.error_code == "PROTOCOL_ERROR"
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    assert PASSWORD not in repr(result.to_dict())
    assert server.received[0][0] == 0x12  # the driver did send a PRELOGIN packet first


LOGIN_FAILED = (18456, 14, "Login failed for user 'reader'.")
NO_DATABASE = (4060, 11, 'Cannot open database "analytics" requested by the login. The login failed.')


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        ((LOGIN_FAILED,), "AUTH_FAILED"),
        # The server sends both: the database's error first, then "Login failed"; python-tds raises with the last.
        ((NO_DATABASE, LOGIN_FAILED), "NOT_FOUND"),
        (((18486, 14, "Login failed for user 'reader' because the account is currently locked out."),), "AUTH_FAILED"),
    ],
)
def test_sqlserver_login_errors_map_to_stable_codes(
    listener: Callable[..., Listener], errors: tuple[tuple[int, int, str], ...], code: str
) -> None:
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), errors_reply(*errors)])

    result = check_connection(target("sqlserver", server.port, source_config={"encrypt": False}), CREDENTIALS, LOOPBACK)

    assert result.error_code == code
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    assert "reader" not in (result.error or "")  # the login name is scrubbed from the server's message
    assert PASSWORD not in repr(result.to_dict())


def test_sqlserver_a_login_that_routes_elsewhere_is_refused_before_the_driver_connects_there(
    listener: Callable[..., Listener],
) -> None:
    # Given a server that accepts the login and routes the client to another address (one never policy-checked)
    elsewhere = listener([prelogin_reply(ENCRYPT_NOT_SUP)])
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), routing_reply("127.0.0.1", elsewhere.port)])

    result = check_connection(target("sqlserver", server.port, source_config={"encrypt": False}), CREDENTIALS, LOOPBACK)

    # Then the driver's own connection there is refused, and it never reached the other listener
    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    time.sleep(0.2)
    assert elsewhere.accepted == 0


def test_sqlserver_a_route_to_a_metadata_name_is_refused_without_resolving_it(
    listener: Callable[..., Listener],
) -> None:
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), routing_reply("metadata.google.internal", 80)])

    result = check_connection(target("sqlserver", server.port, source_config={"encrypt": False}), CREDENTIALS, LOOPBACK)

    assert result.error_code == "BLOCKED_ADDRESS"
    assert "resolve" in (result.error or "")


def test_sqlserver_requires_tls_by_default_and_refuses_a_server_without_it(listener: Callable[..., Listener]) -> None:
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP)])

    result = check_connection(target("sqlserver", server.port), CREDENTIALS, LOOPBACK)

    # The login (with the password) is never sent in the clear: one PRELOGIN and nothing after it
    assert result.error_code == "TLS_FAILED"
    assert len(server.received) == 1
    assert PASSWORD.encode("utf-16-le") not in b"".join(server.received)


def test_sqlserver_encrypt_false_in_the_connection_string_is_honoured(listener: Callable[..., Listener]) -> None:
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), b"\xde\xad\xbe\xef" * 16])
    text = f"sqlserver://reader:{PASSWORD}@127.0.0.1:{server.port}/analytics?encrypt=false"

    result = check_connection(
        ConnectionTarget(type="sqlserver", connection_string=text, connection_timeout=3), {}, LOOPBACK
    )

    assert result.error_code == "PROTOCOL_ERROR"  # it got past PRELOGIN, so TLS was not demanded
    assert PASSWORD not in repr(result.to_dict())


@pytest.mark.parametrize("option", ["encrypt=maybe", "trustServerCertificate=true", "sock=/tmp/x"])
def test_sqlserver_connection_string_options_outside_the_allowlist_are_invalid(option: str) -> None:
    text = f"sqlserver://reader@127.0.0.1:1433/analytics?{option}"

    result = check_connection(ConnectionTarget(type="sqlserver", connection_string=text), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


def test_sqlserver_ado_connection_strings_are_read(listener: Callable[..., Listener]) -> None:
    # Given ADO.NET's form, with a quoted password holding a ';'
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), b"\xde\xad\xbe\xef" * 16])
    text = f'Server=tcp:127.0.0.1,{server.port};Initial Catalog=analytics;User ID=reader;Password="{PASSWORD};x";Encrypt=no'

    result = check_connection(
        ConnectionTarget(type="sqlserver", connection_string=text, connection_timeout=3), {}, LOOPBACK
    )

    # Then the driver reached the listener named there, without TLS as Encrypt=no says, and the password is nowhere
    assert result.error_code == "PROTOCOL_ERROR"
    assert server.accepted == 1
    assert PASSWORD not in repr(result.to_dict())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Server=tcp:169.254.169.254,1433;Database=db", "BLOCKED_ADDRESS"),
        ("Server=db.example.com;Failover Partner=169.254.169.254;Database=db", "INVALID_CONFIG"),
        ("Server=db.example.com;AttachDbFilename=/etc/passwd", "INVALID_CONFIG"),
        ("Server=db.example.com\\SQLEXPRESS;Database=db", "INVALID_CONFIG"),
        ("Server=db.example.com,port;Database=db", "INVALID_CONFIG"),
        ("Server=db.example.com;TrustServerCertificate=True", "INVALID_CONFIG"),
        ("Database=db;User ID=sa", "INVALID_CONFIG"),
    ],
)
def test_sqlserver_ado_connection_strings_are_checked(text: str, code: str) -> None:
    result = check_connection(ConnectionTarget(type="sqlserver", connection_string=text), CREDENTIALS, LOOPBACK)

    assert result.error_code == code
    assert [s.name for s in result.stages] == ["resolve"]


def oracle_refuse(error: int) -> bytes:
    """An Oracle Net REFUSE packet (type 4) as a listener sends it, its descriptor naming the ORA- error."""
    data = f"(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR={error})(ERROR_STACK=(ERROR=(CODE={error})(EMFI=4))))".encode()
    body = bytes([0x22, 0x00]) + struct.pack(">H", len(data)) + data
    return struct.pack(">HHBBH", 8 + len(body), 0, 4, 0, 0) + body


@pytest.mark.parametrize(
    ("error", "config", "code"),
    [
        (12514, {"serviceName": "ORCLPDB1"}, "NOT_FOUND"),  # service not registered with the listener
        (12505, {"sid": "ORCL"}, "NOT_FOUND"),  # SID not registered
        (12519, {"serviceName": "ORCLPDB1"}, "UNREACHABLE"),  # no handler: the listener refused
    ],
)
def test_oracle_listener_refusals_map_to_stable_codes(
    listener: Callable[..., Listener], error: int, config: dict[str, str], code: str
) -> None:
    server = listener([oracle_refuse(error)])

    result = check_connection(target("oracle", server.port, source_config=config), CREDENTIALS, LOOPBACK)

    assert result.error_code == code
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    assert server.received[0][4] == 1  # the driver's CONNECT packet came first
    assert PASSWORD not in repr(result.to_dict())


def test_oracle_without_a_service_name_sid_or_database_is_invalid_config() -> None:
    result = check_connection(target("oracle", 1521, database_name=None), CREDENTIALS, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"
    assert "serviceName" in (result.error or "")


# --- Oracle over TLS (tcps) ---------------------------------------------------------------------------------------


class TlsListener:
    """Accepts TLS with a given certificate, reads the client's first packet inside it, then stays silent."""

    def __init__(self, certificate: str, key: str, directory: Path) -> None:
        self.context = server_context(certificate, key, directory)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.inside: list[bytes] = []
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            tls = self.context.wrap_socket(conn, server_side=True)
            self.inside.append(tls.recv(65536))
            time.sleep(10)
        except (OSError, ssl.SSLError):
            pass

    def close(self) -> None:
        self.server.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[Callable[[str], tuple[TlsListener, str]]]:
    made: list[TlsListener] = []

    def make(name: str) -> tuple[TlsListener, str]:
        ca, certificate, key = certificates(name)
        directory = tmp_path / f"tls{len(made)}"
        directory.mkdir()
        made.append(TlsListener(certificate, key, directory))
        return made[-1], ca

    yield make
    for item in made:
        item.close()


def tcps(port: int, ca: str | None) -> ConnectionTarget:
    config = {"protocol": "tcps", **({"sslCaCertificate": ca} if ca else {})}
    return target("oracle", port, host="localhost", source_config=config)


def test_oracle_tcps_with_a_trusted_certificate_for_the_name_speaks_oracle_net_inside_tls(
    tls_listener: Callable[[str], tuple[TlsListener, str]],
) -> None:
    # Given a TLS server whose certificate names "localhost", signed by a CA the source trusts
    server, ca = tls_listener("localhost")
    started = time.monotonic()

    result = check_connection(tcps(server.port, ca), CREDENTIALS, LOOPBACK)

    # Then TLS and the name check passed (the CONNECT packet arrived inside TLS) and the silent server timed out
    # within the 3 s connection timeout (the listener would hold the connection for 10 s)
    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 5
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate"]
    assert server.inside and server.inside[0][4] == 1  # Oracle Net CONNECT, decrypted by the server


def test_oracle_tcps_with_a_certificate_for_another_name_is_tls_failed(
    tls_listener: Callable[[str], tuple[TlsListener, str]],
) -> None:
    server, ca = tls_listener("db.other.example")

    result = check_connection(tcps(server.port, ca), CREDENTIALS, LOOPBACK)

    assert result.error_code == "TLS_FAILED"
    assert not any(server.inside)  # nothing, the login least of all, was sent inside TLS


def test_oracle_tcps_with_an_untrusted_certificate_is_tls_failed(
    tls_listener: Callable[[str], tuple[TlsListener, str]],
) -> None:
    server, _ = tls_listener("localhost")

    result = check_connection(tcps(server.port, None), CREDENTIALS, LOOPBACK)

    assert result.error_code == "TLS_FAILED"
    assert not any(server.inside)


def test_oracle_tcps_through_an_ssh_tunnel_is_invalid_config() -> None:
    tunnelled = target("oracle", 2484, source_config={"protocol": "tcps"}, use_ssh_tunnel=True, ssh_host="127.0.0.1")

    result = check_connection(tunnelled, CREDENTIALS, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


# --- SQL Server: a local TDS server that logs in and answers the catalog queries -----------------------------------


def tds_packets(body: bytes, size: int = 4096) -> bytes:
    """A REPLY message in packets of the negotiated size (4096), the last one marked end-of-message."""
    parts = [body[i : i + size - 8] for i in range(0, len(body), size - 8)] or [b""]
    return b"".join(
        struct.pack(">BBHHBB", 0x04, int(n == len(parts) - 1), 8 + len(part), 0, n + 1, 0) + part
        for n, part in enumerate(parts)
    )


def tds_result(columns: list[tuple[str, str]], rows: list[tuple[object, ...]]) -> bytes:
    """COLMETADATA (MS-TDS 2.2.7.4: NVARCHAR 0xE7, INTN 0x26 of 8 bytes, BITN 0x68), ROW tokens, then DONE."""
    out = bytes([0x81]) + struct.pack("<H", len(columns))
    for name, kind in columns:
        out += struct.pack("<IH", 0, 1)  # user type, flags (nullable)
        out += {
            "nvarchar": bytes([0xE7]) + struct.pack("<H", 8000) + bytes.fromhex("0904d00034"),
            "int": bytes([0x26, 8]),
            "bit": bytes([0x68, 1]),
        }[kind]
        out += bytes([len(name)]) + name.encode("utf-16-le")
    for values in rows:
        out += bytes([0xD1])
        for (_, kind), value in zip(columns, values, strict=True):
            if value is None:
                out += b"\xff\xff" if kind == "nvarchar" else b"\x00"
            elif kind == "nvarchar":
                text = str(value).encode("utf-16-le")
                out += struct.pack("<H", len(text)) + text
            elif kind == "int":
                out += bytes([8]) + struct.pack("<q", value)
            else:
                out += bytes([1, int(bool(value))])
    return out + bytes([0xFD]) + struct.pack("<HHQ", 0x10, 0xC1, len(rows))


TDS_DONE = bytes([0xFD]) + struct.pack("<HHQ", 0, 0, 0)
# sys.objects.type is char(2): 'U ', 'V '
CATALOG_TABLES = [(1, "dbo", "customers", "U ", 3), (2, "dbo", "active", "V ", None), (3, "sales", "lines", "U ", 7)]
CATALOG_COLUMNS = [
    (1, "id", "bigint", False, None, 1, 1),
    (1, "email", "nvarchar(200)", True, "('x')", 2, None),
    (2, "id", "bigint", False, None, 1, None),
    (3, "order_id", "int", False, None, 1, 2),
    (3, "line_no", "smallint", False, None, 2, 1),
]


class TdsServer:
    """Logs any login in (LOGINACK), then answers @@VERSION and the two catalog queries with rows shaped as the sys
    views give them; records each request's text (SQL batches and sp_executesql RPCs)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.requests: list[tuple[int, str]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    @staticmethod
    def _message(conn: socket.socket) -> tuple[int, bytes]:
        body = b""
        while True:
            header = b""
            while len(header) < 8:
                chunk = conn.recv(8 - len(header))
                if not chunk:
                    raise OSError("closed")
                header += chunk
            size = struct.unpack(">H", header[2:4])[0] - 8
            part = b""
            while len(part) < size:
                part += conn.recv(size - len(part))
            body += part
            if header[1] & 1:
                return header[0], body

    def _talk(self, conn: socket.socket) -> None:
        name = "Microsoft SQL Server".encode("utf-16-le")
        loginack = bytes([0xAD]) + struct.pack("<H", 10 + len(name)) + b"\x01" + bytes.fromhex("74000004")
        loginack += bytes([len(name) // 2]) + name + bytes.fromhex("10000000")
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            self._message(conn)
            conn.sendall(prelogin_reply(ENCRYPT_NOT_SUP))
            self._message(conn)
            conn.sendall(tds_packets(loginack + TDS_DONE))
            while True:
                kind, body = self._message(conn)
                text = body.decode("utf-16-le", "ignore")
                self.requests.append((kind, text))
                if "@@VERSION" in text:
                    reply = tds_result(
                        [("v", "nvarchar"), ("db", "nvarchar")],
                        [("Microsoft SQL Server 2022 (RTM) - 16.0.1000.6", "analytics")],
                    )
                elif "sys.partitions" in text:
                    columns = ["int", "nvarchar", "nvarchar", "nvarchar", "int"]
                    reply = tds_result([(f"c{n}", k) for n, k in enumerate(columns)], CATALOG_TABLES)
                elif "sys.columns" in text:
                    columns = ["int", "nvarchar", "nvarchar", "bit", "nvarchar", "int", "int"]
                    reply = tds_result([(f"c{n}", k) for n, k in enumerate(columns)], CATALOG_COLUMNS)
                else:
                    reply = TDS_DONE
                conn.sendall(tds_packets(reply))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def tds_server() -> Iterator[TdsServer]:
    server = TdsServer()
    yield server
    server.close()


def test_sqlserver_test_and_discovery_run_through_the_driver_against_a_local_tds_server(tds_server: TdsServer) -> None:
    # Given a server that logs in and answers as SQL Server's catalog would
    source = target(
        "sqlserver",
        tds_server.port,
        source_config={"encrypt": False},
        include_patterns=["dbo.*", "sales.l?nes"],
        exclude_patterns=["dbo.act*"],
    )

    result = check_connection(source, CREDENTIALS, LOOPBACK)
    schema = discover_schema(source, CREDENTIALS, LOOPBACK)

    # Then the test passes every stage and reads the version and database
    assert result.success, result.to_dict()
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version == "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6"
    assert result.details == {"database": "analytics"}
    # and discovery maps the rows: views and the excluded table gone, keys in key order, row estimates kept
    assert [(t.qualified_name, t.kind, t.primary_key, t.estimated_rows) for t in schema.tables] == [
        ("dbo.customers", "table", ["id"], 3),
        ("sales.lines", "table", ["line_no", "order_id"], 7),
    ]
    assert [c.default for c in schema.tables[0].columns] == [None, "('x')"]
    # and the globs travelled as RPC parameters of sp_executesql (type 3), pushed into both catalog queries
    rpcs = [text for kind, text in tds_server.requests if kind == 3]
    assert len(rpcs) == 2
    assert "SELECT TOP (10001)" in rpcs[0]  # the bound, plus one to know it was reached
    for text in rpcs:
        assert "COLLATE Latin1_General_BIN2 LIKE @P1" in text
        assert all(value in text for value in ("dbo.%", "sales.l_nes", "dbo.act%"))
    assert PASSWORD not in repr(result.to_dict())


# --- SQL Server over TLS (TDS carries the handshake in PRELOGIN packets) --------------------------------------------


class TdsTlsListener:
    """Answers PRELOGIN with ENCRYPT_ON, runs the TLS handshake inside PRELOGIN packets as SQL Server does
    (MS-TDS 3.3.5.2), then decrypts what the client sends next (its LOGIN7) and stays silent."""

    def __init__(self, certificate: str, key: str, directory: Path) -> None:
        self.context = server_context(certificate, key, directory)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.handshakes = 0
        self.logins: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            with contextlib.suppress(OSError, ssl.SSLError, struct.error):
                self._talk(conn)

    @staticmethod
    def _packet(conn: socket.socket) -> bytes:
        header = b""
        while len(header) < 8:
            header += conn.recv(8 - len(header)) or b"x" * 8
        size = struct.unpack(">H", header[2:4])[0] - 8
        body = b""
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise OSError("closed")
            body += chunk
        return body

    def _talk(self, conn: socket.socket) -> None:
        self._packet(conn)  # the client's PRELOGIN
        conn.sendall(prelogin_reply(0x01))  # ENCRYPT_ON
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            incoming.write(self._packet(conn))
            try:
                tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            data = outgoing.read()
            if data:
                conn.sendall(struct.pack(">BBHHBB", 0x12, 0x01, 8 + len(data), 0, 1, 0) + data)
            if done:
                break
        self.handshakes += 1
        while True:  # after the handshake, TLS records travel bare on the socket
            chunk = conn.recv(65536)
            if not chunk:
                return
            incoming.write(chunk)
            try:
                self.logins.append(tls.read(65536))
            except ssl.SSLWantReadError:
                continue

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def tds_tls(tmp_path: Path) -> Iterator[Callable[[str], tuple[TdsTlsListener, Path]]]:
    made: list[TdsTlsListener] = []

    def make(name: str) -> tuple[TdsTlsListener, Path]:
        ca, certificate, key = certificates(name)
        directory = tmp_path / f"tds{len(made)}"
        directory.mkdir()
        (directory / "ca.pem").write_text(ca)
        made.append(TdsTlsListener(certificate, key, directory))
        return made[-1], directory / "ca.pem"

    yield make
    for item in made:
        item.close()


def test_sqlserver_tls_with_a_trusted_certificate_for_the_name_sends_the_login_inside_tls(
    tds_tls: Callable[[str], tuple[TdsTlsListener, Path]], monkeypatch: pytest.MonkeyPatch, connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip("the trust store is this process's (SSL_CERT_FILE); the runner's is the system's")
    # Given a server whose certificate names "localhost", from a CA the trust store holds
    server, ca = tds_tls("localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))

    result = check_connection(target("sqlserver", server.port, host="localhost"), CREDENTIALS, LOOPBACK)

    # Then the handshake passed, the LOGIN7 packet (type 0x10) arrived inside TLS, and the silent server timed out
    assert result.error_code == "TIMEOUT"
    assert server.handshakes == 1
    assert server.logins and server.logins[0][0] == 0x10
    assert PASSWORD not in repr(result.to_dict())


def test_sqlserver_tls_with_the_source_ca_trusted_sends_the_login_inside_tls(
    tds_tls: Callable[[str], tuple[TdsTlsListener, Path]],
) -> None:
    # Given a server whose certificate names "localhost", from a CA only the source's caCertificate holds (it
    # travels in the request, so the runner's process trusts it too)
    server, ca = tds_tls("localhost")
    config = {"caCertificate": ca.read_text()}

    result = check_connection(
        target("sqlserver", server.port, host="localhost", source_config=config), CREDENTIALS, LOOPBACK
    )

    # Then the handshake passed and the LOGIN7 packet (type 0x10) arrived inside TLS; the silent server timed out
    assert result.error_code == "TIMEOUT", result.error
    assert server.handshakes == 1
    assert server.logins and server.logins[0][0] == 0x10
    assert PASSWORD not in repr(result.to_dict())


@pytest.mark.parametrize("case", ["other-name", "untrusted", "system-store-only"])
def test_sqlserver_tls_with_a_certificate_for_another_name_or_an_untrusted_ca_is_tls_failed(
    tds_tls: Callable[[str], tuple[TdsTlsListener, Path]], case: str
) -> None:
    server, ca = tds_tls("db.other.example" if case == "other-name" else "localhost")
    other_ca, _, _ = certificates("localhost")
    config = {"other-name": {"caCertificate": ca.read_text()}, "untrusted": {"caCertificate": other_ca}}.get(case, {})

    result = check_connection(
        target("sqlserver", server.port, host="localhost", source_config=config), CREDENTIALS, LOOPBACK
    )

    assert result.error_code == "TLS_FAILED", result.error
    assert not server.logins  # the login never left the client


def test_sqlserver_a_ca_certificate_that_is_not_pem_is_invalid_config() -> None:
    config = {"caCertificate": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}

    result = check_connection(target("sqlserver", free_port(), source_config=config), CREDENTIALS, LOOPBACK)

    # refused before any connection (the port is closed: a connection attempt would say UNREACHABLE)
    assert result.error_code == "INVALID_CONFIG", result.error
    assert "caCertificate" in (result.error or "")


# --- through an SSH tunnel (a real OpenSSH sshd) -------------------------------------------------------------------


def test_sqlserver_through_an_ssh_tunnel_speaks_tds_to_the_far_side(
    sshd: SshServer, listener: Callable[..., Listener]
) -> None:
    server = listener([prelogin_reply(ENCRYPT_NOT_SUP), b"\xde\xad\xbe\xef" * 16])
    tunnelled = target(
        "sqlserver",
        server.port,
        source_config={"encrypt": False},
        use_ssh_tunnel=True,
        ssh_host="127.0.0.1",
        ssh_port=sshd.port,
        ssh_username=sshd.username,
        connection_timeout=10,
    )

    result = check_connection(tunnelled, {**CREDENTIALS, "ssh_private_key": sshd.client_key}, LOOPBACK)

    assert [s.name for s in result.stages] == ["tunnel", "connect", "authenticate"]
    assert result.error_code == "PROTOCOL_ERROR"  # the junk came back through the tunnel
    assert result.ssh_host_key_fingerprint == sshd.host_key_fingerprint
    assert server.received[0][0] == 0x12  # a TDS PRELOGIN reached the far side


def test_oracle_through_an_ssh_tunnel_sends_its_connect_packet_to_the_far_side(
    sshd: SshServer, listener: Callable[..., Listener]
) -> None:
    server = listener([b""])  # reads the client's first packet, then stays silent
    tunnelled = target(
        "oracle",
        server.port,
        use_ssh_tunnel=True,
        ssh_host="127.0.0.1",
        ssh_port=sshd.port,
        ssh_username=sshd.username,
        connection_timeout=4,
    )

    result = check_connection(tunnelled, {**CREDENTIALS, "ssh_private_key": sshd.client_key}, LOOPBACK)

    assert [s.name for s in result.stages] == ["tunnel", "connect", "authenticate"]
    assert result.error_code == "TIMEOUT"
    assert server.received and server.received[0][4] == 1  # Oracle Net's CONNECT packet type (header byte 4)


# --- the egress guard: what a driver may reach while it runs --------------------------------------------------------


def test_the_guard_refuses_a_driver_that_resolves_or_reaches_another_address(
    listener: Callable[..., Listener], connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip("the guard is in-process by nature")
    pinned, other = listener([]), listener([])
    guard = egress.Guard(PinnedAddress("db.example.com", "127.0.0.1", pinned.port, socket.AF_INET))

    with guard.within(5, "the login"):
        socket.create_connection(("127.0.0.1", pinned.port), timeout=2).close()  # the pinned address: allowed
        with pytest.raises(egress.EgressRefused):
            socket.create_connection(("127.0.0.1", other.port), timeout=2)  # as a TDS routing answer would
        with pytest.raises(egress.EgressRefused):
            socket.getaddrinfo("localhost", pinned.port)  # resolving a name itself
    socket.create_connection(("127.0.0.1", other.port), timeout=2).close()  # outside the guard: untouched

    time.sleep(0.2)
    assert other.accepted == 1  # only the unguarded connection reached it
    assert pinned.accepted == 1


def test_the_guard_times_out_a_driver_blocked_in_recv(silent_server: int, connector_path: str) -> None:
    if connector_path == "runner":
        pytest.skip("the guard is in-process by nature")
    guard = egress.Guard(PinnedAddress("127.0.0.1", "127.0.0.1", silent_server, socket.AF_INET))
    started = time.monotonic()

    with pytest.raises(ConnectorError) as caught, guard.within(1, "the login"):
        sock = socket.create_connection(("127.0.0.1", silent_server))  # no timeout of its own
        sock.settimeout(None)
        sock.recv(10)
        raise OSError("the server closed the connection")  # what a driver says when recv returns nothing

    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 3


# --- live servers (opt-in) ------------------------------------------------------------------------------------------


def _live(variable: str, kind: str) -> tuple[ConnectionTarget, dict[str, str], NetworkPolicy]:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set (a live {kind} server's URL, see README 'Connections')")
    parts = urlsplit(url)
    credentials = {"username": unquote(parts.username or ""), "password": unquote(parts.password or "")}
    bare = url.replace(f"{parts.username}:{parts.password}@", "") if parts.password else url
    policy = NetworkPolicy.from_string(
        os.environ.get("DS_LIVE_ALLOWED_CIDRS", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8")
    )
    return ConnectionTarget(type=kind, connection_string=bare, connection_timeout=30), credentials, policy


@pytest.mark.parametrize(
    ("variable", "kind"), [("DS_LIVE_SQLSERVER_URL", "sqlserver"), ("DS_LIVE_ORACLE_URL", "oracle")]
)
def test_live_server_passes_every_stage_and_discovers_tables(variable: str, kind: str) -> None:
    live, credentials, policy = _live(variable, kind)

    result = check_connection(live, credentials, policy)

    assert result.success, result.to_dict()
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version
    schema = discover_schema(live, credentials, policy, deadline_seconds=120)
    assert all(t.kind in {"table", "view"} for t in schema.tables)
    assert len(schema.tables) <= 10_000
    if schema.tables:
        first = schema.tables[0]
        narrowed = ConnectionTarget(
            type=kind, connection_string=live.connection_string, include_patterns=[f"{first.schema}.{first.name}"]
        )
        only = discover_schema(narrowed, credentials, policy, deadline_seconds=120)
        assert [t.qualified_name for t in only.tables] == [first.qualified_name]


@pytest.mark.parametrize(
    ("variable", "kind"), [("DS_LIVE_SQLSERVER_URL", "sqlserver"), ("DS_LIVE_ORACLE_URL", "oracle")]
)
def test_live_server_refuses_a_wrong_password_as_auth_failed(variable: str, kind: str) -> None:
    live, credentials, policy = _live(variable, kind)

    result = check_connection(live, {**credentials, "password": "not-the-password-91"}, policy)

    assert result.error_code == "AUTH_FAILED"
    assert "not-the-password-91" not in repr(result.to_dict())
