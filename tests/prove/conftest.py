"""The proofs' own fixtures: every response body, log line and exception of these tests is scanned for the secret marker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devserver import tokens
from devserver.server import LocalServer
from tests.conftest import PROOF_COUNTS as COUNTS
from tests.conftest import PROOF_REPORT as REPORT
from tests.conftest import ClientFactory
from tests.prove.harness import MARKER, new_source

__all__ = ["COUNTS", "REPORT", "report", "scan"]


def report(line: str) -> None:
    """A figure for the summary at the end of the run (the counts the guarantees quote)."""
    REPORT.append(line)


def scan(text: str, where: str) -> None:
    COUNTS["leak scans"] += 1
    assert MARKER not in text, (
        f"a credential value appeared in {where}: ...{text[max(0, text.find(MARKER) - 300) : text.find(MARKER) + 60]}"
    )


@pytest.fixture
def client_for(client_for: ClientFactory) -> ClientFactory:
    def make(*args: object, **kwargs: object) -> httpx.Client:
        client = client_for(*args, **kwargs)
        client.event_hooks["response"].append(lambda response: scan(response.read().decode(), "a response body"))
        return client

    return make


class ModuleTenant:
    """A tenant kept for a whole module, for cases that leave its data as it was (refused, or reading only):
    clients whose every answer is scanned, and sources (linked to a data system each) made once by name."""

    def __init__(self, server: LocalServer) -> None:
        self.tenant = f"t_{uuid.uuid4().hex[:12]}"
        self._url = server.url
        self._clients: dict[str, httpx.Client] = {}
        self._sources: dict[str, dict[str, Any]] = {}

    def client(self, role: str = "editor", token: str | None = None) -> httpx.Client:
        key = token or role
        if key not in self._clients:
            bearer = token or tokens.issue(self.tenant, role)
            self._clients[key] = httpx.Client(
                base_url=self._url,
                headers={"authorization": f"Bearer {bearer}"},
                timeout=30,
                event_hooks={"response": [lambda response: scan(response.read().decode(), "a response body")]},
            )
        return self._clients[key]

    def source(self, name: str) -> dict[str, Any]:
        if name not in self._sources:
            self._sources[name] = new_source(self.client("editor"), name)
        return self._sources[name]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@pytest.fixture(scope="module")
def module_tenant(server: LocalServer) -> Iterator[ModuleTenant]:
    kept = ModuleTenant(server)
    yield kept
    kept.close()


@pytest.fixture(autouse=True)
def _logs_never_hold_secrets(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    out, err = capfd.readouterr()
    for line in [*out.splitlines(), *err.splitlines()]:
        scan(line, "a log line")
    for record in caplog.records:
        # Every attribute of the record: message, arguments, Powertools' extra keys and any exception.
        scan(repr(vars(record)), "a log record")
        if record.exc_info and record.exc_info[1] is not None:
            scan(str(record.exc_info[1]), "an exception text")
