"""The proofs' own fixtures: every response body, log line and exception of these tests is scanned for the secret marker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PROOF_COUNTS as COUNTS
from tests.conftest import PROOF_REPORT as REPORT
from tests.conftest import ClientFactory
from tests.prove.harness import MARKER

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
