"""Shared fixtures: the local stack (moto server + HTTP API from template.yaml) on free loopback ports, and the tiers.

Two tiers (README "Testing"). A test is in the server tier (marker `server`) when it lives in tests/api or
tests/prove (they all run through the local stack), uses a fixture that starts or needs a server
(SERVER_FIXTURES), or says so with `@pytest.mark.server` / a needs_* marker. Every other test is pure: `make check`
runs them with `-m "not server"`, and while a pure test runs any socket connect to a non-unix address fails it.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("DS_ACCESS_LOG", "0")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
# Handler modules may be imported at collection, before the local stack sets the template's environment.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "datasource-registry")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DataSourceRegistry")

from devserver import tokens
from devserver.aws import free_port
from devserver.server import LocalApi, LocalServer

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally when a server is missing, but fail under CI=true: CI must run every test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# -- the proofs' figures (tests/prove/conftest.py fills them) ------------------------------------------------
PROOF_COUNTS: Counter[str] = Counter()
PROOF_REPORT: list[str] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist each worker hands its figures to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["proofs"] = json.dumps({"counts": dict(PROOF_COUNTS), "report": PROOF_REPORT})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    figures = json.loads(getattr(node, "workeroutput", {}).get("proofs", "{}"))
    PROOF_COUNTS.update(figures.get("counts", {}))
    PROOF_REPORT.extend(figures.get("report", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PROOF_REPORT or PROOF_COUNTS:
        terminalreporter.section("proofs")
        for line in sorted(PROOF_REPORT):
            terminalreporter.write_line(line)
        for name, count in sorted(PROOF_COUNTS.items()):
            terminalreporter.write_line(f"{name}: {count}")


# -- tiers ---------------------------------------------------------------------------------------------------
SERVER_DIRS = frozenset({"api", "prove"})
SERVER_MARKERS = frozenset({"server", "needs_postgres", "needs_mysql", "needs_redis"})
# Fixtures (here and in tests/connectors/conftest.py) that start a server or reach one over a socket.
SERVER_FIXTURES = frozenset(
    {
        "local_api",
        "server",
        "client_for",
        "api",
        "pg_schema",
        "mariadb_database",
        "redis_keys",
        "silent_server",
        "http_server",
        "tls_server",
        "moto_endpoint",
        "s3_bucket",
        "counting_proxy",
        "sshd",
    }
)


def in_server_tier(item: pytest.Item) -> bool:
    parts = set(item.path.relative_to(ROOT / "tests").parts[:-1])
    marked = any(item.get_closest_marker(name) for name in SERVER_MARKERS)
    return bool(SERVER_DIRS & parts) or marked or bool(SERVER_FIXTURES & set(getattr(item, "fixturenames", ())))


# `make test` runs two pytest-xdist workers (--dist loadgroup --no-loadscope-reorder), handing out work units in
# collection order: the longest modules first, each module one unit (its module fixtures and shared sources stay in
# one process), and the fuzz module's tests last, each a unit of its own (they share nothing), to even out the end.
LONGEST_FIRST = ("prove/test_faults.py", "prove/test_bad_input.py", "prove/test_stateful.py")
SPREAD_LAST = "prove/test_fuzz.py"


def _start_order(item: pytest.Item) -> int:
    path = item.path.as_posix()
    if path.endswith(SPREAD_LAST):
        return len(LONGEST_FIRST) + 1
    return next((n for n, tail in enumerate(LONGEST_FIRST) if path.endswith(tail)), len(LONGEST_FIRST))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects and xdist reads the groups: the marks must be there by then
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if in_server_tier(item) and not item.get_closest_marker("server"):
            item.add_marker(pytest.mark.server)
        if not item.path.as_posix().endswith(SPREAD_LAST):
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(ROOT).as_posix()))
    items.sort(key=_start_order)  # stable: every module keeps its tests together and in order


class NetworkInPureTest(RuntimeError):
    """A pure-tier test tried to reach the network (not an OSError, so no connector mistakes it for "refused")."""


@pytest.fixture(autouse=True)
def _pure_tests_reach_no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a pure test every connect to a non-unix address raises, and the test fails even if the code caught it."""
    if request.node.get_closest_marker("server"):
        yield
        return
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family != socket.AF_UNIX:
            attempts.append(repr(address))
            raise NetworkInPureTest(
                f"pure-tier test connected to {address!r}: mark it @pytest.mark.server (or use a server fixture)"
            )

    def connect(sock: socket.socket, address: Any) -> None:
        refuse(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        refuse(sock, address)
        return real_connect_ex(sock, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]
    if attempts:
        pytest.fail(f"a pure-tier test tried to reach the network: {', '.join(attempts)}", pytrace=False)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def local_api() -> Iterator[LocalApi]:
    api = LocalApi.start(aws_port=free_port())
    yield api
    api.aws.stop()


@pytest.fixture(scope="session")
def server(local_api: LocalApi) -> Iterator[LocalServer]:
    running = LocalServer(local_api, 0).start()
    yield running
    running.stop()


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test: tests never see each other's data, as tenants never do."""
    return f"t_{uuid.uuid4().hex[:12]}"


ClientFactory = Callable[..., httpx.Client]


@pytest.fixture
def client_for(server: LocalServer, tenant: str) -> Iterator[ClientFactory]:
    clients: list[httpx.Client] = []

    def make(role: str = "editor", tenant_id: str | None = None, token: str | None = None) -> httpx.Client:
        bearer = token if token is not None else tokens.issue(tenant_id or tenant, role)
        client = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {bearer}"}, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_for: ClientFactory) -> httpx.Client:
    """An editor of the test's own tenant."""
    return client_for("editor")


def load_event(name: str, *, tenant: str | None = None, role: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims")
    if claims is not None:
        if tenant:
            claims["tenant_id"] = tenant
        if role:
            claims["role"] = role
    return copy.deepcopy(event)


def postgres_body(name: str = "Production PostgreSQL", **extra: Any) -> dict[str, Any]:
    """001's curl example, in its own snake_case form."""
    body = {
        "name": name,
        "type": "postgresql",
        "host": "db.example.com",
        "port": 5432,
        "database_name": "production",
        "credentials": {"username": "dbuser", "password": "securepassword"},
    }
    body.update(extra)
    return body


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[Callable[[str], str]]:
    """Creates unique schemas in database `test` from DDL ({schema} is substituted); drops them after."""
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True)
    created: list[str] = []

    def make(ddl: str = "") -> str:
        name = unique("conn_t")
        conn.execute(f'CREATE SCHEMA "{name}"')
        created.append(name)
        if ddl:
            conn.execute(ddl.format(schema=name))
        return name

    yield make
    for name in created:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    conn.close()


# --- MariaDB --------------------------------------------------------------------------------------


@pytest.fixture
def mariadb_database() -> Iterator[Callable[[list[str]], str]]:
    """Creates uniquely named databases with the given statements ({db} is substituted); drops them after."""
    require(port_open(3306), "MariaDB is not running on 127.0.0.1:3306")
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    created: list[str] = []

    def make(statements: list[str] | None = None) -> str:
        name = unique("conn_t")
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            created.append(name)
            for statement in statements or []:
                cur.execute(statement.format(db=name))
        return name

    yield make
    with conn.cursor() as cur:
        for name in created:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture(scope="module", autouse=True)
def fresh_aws(request: pytest.FixtureRequest) -> None:
    """Each module of HTTP and proof tests starts on an empty embedded AWS.

    moto answers a Query by walking the whole table, so a table that grew through the whole suite would make
    later modules slower and slower; real DynamoDB has no such cost, and tenants keep tests apart anyway.
    """
    if not {"api", "prove"} & set(request.node.path.parts):
        return
    local_api: LocalApi = request.getfixturevalue("local_api")
    httpx.post(f"{local_api.aws.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
    local_api.aws.provision(local_api.template)


# --- Hanging listener -----------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP listener that accepts connections but never sends a byte (a server that never greets)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    server.close()
    for conn in accepted:
        conn.close()
