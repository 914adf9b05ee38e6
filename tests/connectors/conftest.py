"""Fixtures for the connector tests: real local servers (PostgreSQL, MariaDB, Redis, moto, sshd, HTTP)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from datasource_registry.connectors import NetworkPolicy
from tests.conftest import free_port, port_open, require, unique

LOOPBACK = NetworkPolicy.from_string("127.0.0.0/8")


@pytest.fixture(scope="session")
def loopback_policy() -> NetworkPolicy:
    return LOOPBACK


# --- Through the runners --------------------------------------------------------------------------
# The modules whose tests run twice: with the library in this process, and through the family's runner function
# (devserver's Lambda Invoke endpoint, a worker process without AWS credentials), answers mapped back as the
# callers' gateway maps them. Same assertions both ways.
THROUGH_RUNNERS = {
    "test_postgres",
    "test_mysql",
    "test_ssh_tunnel",
    "test_redis_http_misc",
    "test_network_safety",
    "test_aws",
    "test_kafka",
    "test_elasticsearch",
    "test_excel_iceberg",
    "test_mongodb",
    "test_cassandra",
    "test_saas_http",
    "test_lake",
    "test_sqlserver_oracle",
}
PLACEHOLDER_KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="session")
def runner_endpoint() -> Iterator[str]:
    from devserver.runners import LambdaInvokeServer
    from devserver.template import load

    server = LambdaInvokeServer.for_template(load())
    yield server.url
    server.stop()


class RunnerPath:
    """check_connection and discover_schema with the library's signatures, run by the runner of the type's family."""

    def __init__(self, endpoint: str) -> None:
        import boto3
        from botocore.config import Config

        config = Config(read_timeout=300, retries={"max_attempts": 1})
        # The caller's keys sign the Invoke (the local endpoint takes any); the runner never sees them.
        self.client = boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name="us-east-1",
            config=config,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's placeholder
        )

    def _invoke(self, operation, target, credentials, policy, deadline_seconds, aws_endpoint_url):  # type: ignore[no-untyped-def]
        from datasource_registry.connectors import ConnectorError
        from datasource_registry.runner import family_of, request_of, result_of
        from devserver.template import physical_name

        aws_types = {"s3", "csv", "json", "parquet", "orc", "excel", "iceberg", "dynamodb", "delta_lake", "hudi"}
        if target.type in aws_types and not credentials:
            # A runner has no credentials of its own to lend: locally the source carries moto's placeholder keys.
            credentials = PLACEHOLDER_KEYS
        cidrs = ",".join(str(net) for net in policy.allowed_cidrs)
        request = request_of(operation, target, credentials, deadline_seconds, cidrs, aws_endpoint_url)
        family = {
            "sql": "RunnerSqlFunction",
            "files": "RunnerFilesFunction",
            "kv-http": "RunnerKvHttpFunction",
            "nosql": "RunnerNosqlFunction",
            "lake": "RunnerLakeFunction",
            "lake-hudi": "RunnerLakeHudiFunction",
        }
        response = self.client.invoke(
            FunctionName=physical_name(family[family_of(target.type)]), Payload=json.dumps(request)
        )
        answer = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, answer
        if "error" in answer:
            raise ConnectorError(answer["error"]["code"], answer["error"]["message"])
        return result_of(answer)

    def check_connection(self, target, credentials, policy, *, deadline_seconds=None, aws_endpoint_url=None):  # type: ignore[no-untyped-def]
        from datasource_registry.runner import check_result_from

        return check_result_from(self._invoke("test", target, credentials, policy, deadline_seconds, aws_endpoint_url))

    def discover_schema(self, target, credentials, policy, *, deadline_seconds=None, aws_endpoint_url=None):  # type: ignore[no-untyped-def]
        from datasource_registry.runner import schema_from

        return schema_from(self._invoke("discover", target, credentials, policy, deadline_seconds, aws_endpoint_url))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in THROUGH_RUNNERS:
        # Through a runner means through a local Invoke endpoint and a worker process: the server tier.
        runner = pytest.param("runner", marks=pytest.mark.server)
        metafunc.parametrize("connector_path", ["in-process", runner], indirect=True)


@pytest.fixture(autouse=True)
def connector_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    where = str(getattr(request, "param", "in-process"))
    if where == "runner":
        path = RunnerPath(request.getfixturevalue("runner_endpoint"))
        for name in ("check_connection", "discover_schema"):
            if hasattr(request.module, name):
                monkeypatch.setattr(request.module, name, getattr(path, name))
    return where


# --- Redis ----------------------------------------------------------------------------------------


@pytest.fixture
def redis_keys() -> Iterator[Callable[[dict[str, object]], str]]:
    """Writes keys under a unique prefix ({p} is substituted); deletes them after."""
    require(port_open(6379), "Redis is not running on 127.0.0.1:6379")
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    written: list[str] = []

    def make(keys: dict[str, object]) -> str:
        prefix = unique("conn")
        for template, value in keys.items():
            key = template.format(p=prefix)
            if isinstance(value, dict):
                client.hset(key, mapping=value)
            else:
                client.set(key, str(value))
            written.append(key)
        return prefix

    yield make
    if written:
        client.delete(*written)
    client.close()


# --- HTTP -----------------------------------------------------------------------------------------


@dataclass
class HttpServer:
    port: int
    requests: list[dict[str, str]]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers JSON (the local HTTP servers of the tests build on it)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    requests: list[dict[str, str]] = []

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            if self.path == "/orders":
                self._send(200, [{"id": 1, "total": 9.5, "note": None}, {"id": 2, "total": 3.0, "paid": True}])
            elif self.path == "/status":
                self._send(200, {"ok": True, "version": "1.2", "uptime": 12})
            elif self.path == "/secure":
                if self.headers.get("X-API-Key") == "k3y-value-123":
                    self._send(200, {"ok": True})
                else:
                    self._send(401, {"error": "unauthorized"})
            elif self.path == "/redirect":
                self._send(302, {}, {"Location": "http://169.254.169.254/latest/meta-data/"})
            else:
                self._send(404, {"error": "not found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HttpServer(int(server.server_address[1]), requests)
    server.shutdown()
    server.server_close()


@dataclass
class TlsServer:
    port: int
    server_names: list[str]


def self_signed(directory: Path, dns_name: str = "localhost", *, ca: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate naming `dns_name` (a CA when `ca`) and its key: `<dns_name>.pem`, `<dns_name>.key`."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    cert_path, key_path = directory / f"{dns_name}.pem", directory / f"{dns_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def serve_connections(listener: socket.socket, handle: Callable[[socket.socket], None]) -> None:
    """Accept on `listener` in a daemon thread until it is closed; each connection goes to `handle`, in that thread."""

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            handle(conn)

    threading.Thread(target=serve, daemon=True).start()


def pipe(src: socket.socket, dst: socket.socket, seen: Callable[[int], None] | None = None) -> None:
    """Copy `src` to `dst` (telling `seen` each chunk's size) until either side ends; then shut both down."""
    try:
        while data := src.recv(65536):
            if seen is not None:
                seen(len(data))
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    """An HTTPS listener with a self-signed certificate that records the SNI names clients send."""
    import ssl

    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path))
    context.sni_callback = lambda _sock, server_name, _ctx: names.append(server_name or "") or None
    listener = socket.create_server(("127.0.0.1", 0))

    def handshake(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
            pass

    serve_connections(listener, handshake)
    yield TlsServer(int(listener.getsockname()[1]), names)
    listener.close()


# --- moto (S3, DynamoDB) --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> Iterator[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = unique("bucket").replace("_", "-")
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@dataclass
class CountingProxy:
    url: str
    bytes_to_client: int = 0


@pytest.fixture
def counting_proxy(moto_endpoint: str) -> Iterator[CountingProxy]:
    """A TCP proxy in front of moto that counts every byte the server sends: an outside view of downloads."""
    upstream_port = int(moto_endpoint.rsplit(":", 1)[1])
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = CountingProxy(f"http://127.0.0.1:{listener.getsockname()[1]}")
    lock = threading.Lock()

    def counted(size: int) -> None:
        with lock:
            proxy.bytes_to_client += size

    def relay(client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client, counted), daemon=True).start()

    serve_connections(listener, relay)
    yield proxy
    listener.close()


# --- OpenSSH server -------------------------------------------------------------------------------


@dataclass
class SshServer:
    port: int
    username: str
    client_key: str  # OpenSSH private key text
    encrypted_client_key: str
    passphrase: str
    host_key_fingerprint: str  # as `ssh-keygen -lf` prints it


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    sshd_path = "/usr/sbin/sshd"
    require(Path(sshd_path).exists(), "OpenSSH server is not installed (apt-get install openssh-server)")
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen is not installed")
    home = tmp_path_factory.mktemp("sshd")
    run = lambda *args: subprocess.run(list(args), check=True, capture_output=True, text=True)  # noqa: E731
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "host_key"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "client_key"))
    passphrase = "correct horse battery"
    run("ssh-keygen", "-q", "-t", "ecdsa", "-N", passphrase, "-f", str(home / "client_key_enc"))
    (home / "authorized_keys").write_text(
        (home / "client_key.pub").read_text() + (home / "client_key_enc.pub").read_text()
    )
    fingerprint = run("ssh-keygen", "-lf", str(home / "host_key.pub")).stdout.split()[1]
    port = free_port()
    config = home / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {home / "host_key"}
PidFile {home / "sshd.pid"}
AuthorizedKeysFile {home / "authorized_keys"}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin yes
AllowTcpForwarding yes
"""
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory sshd insists on
    process = subprocess.Popen([sshd_path, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stderr = process.stderr.read().decode() if process.stderr else ""
            process.kill()
            pytest.fail(f"sshd did not start: {stderr}")
        time.sleep(0.05)
    import getpass

    yield SshServer(
        port=port,
        username=getpass.getuser(),
        client_key=(home / "client_key").read_text(),
        encrypted_client_key=(home / "client_key_enc").read_text(),
        passphrase=passphrase,
        host_key_fingerprint=fingerprint,
    )
    process.terminate()
    process.wait(5)
