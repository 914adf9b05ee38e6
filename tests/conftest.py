"""Shared fixtures: the local stack (moto server + HTTP API from template.yaml) on free loopback ports."""

from __future__ import annotations

import copy
import json
import os
import uuid
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
IN_CI = os.environ.get("CI") == "true"


def require_server(reason: str) -> None:
    """A test that needs a server fails under CI=true when it is missing, and skips (saying why) elsewhere."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


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
