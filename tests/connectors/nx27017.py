"""Starts NX-27017 (PyPI `nx-27017`, a dev dependency): a third-party MongoDB wire protocol server on SQLite, the
real server the mongodb connector is tested against (no `mongod` can be installed here)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_port, port_open, require


def server_command() -> list[str] | None:
    script = Path(sys.executable).parent / "nx-27017"
    if script.exists():
        return [str(script)]
    found = shutil.which("nx-27017")
    return [found] if found else None


@contextlib.contextmanager
def nx27017(work: Path) -> Iterator[int]:
    """The port of a fresh in-memory server on 127.0.0.1, stopped after (fails under CI when it cannot start)."""
    command = server_command()
    require(command is not None, "nx-27017 (a MongoDB wire protocol server, dev dependency) is not installed")
    assert command is not None
    port = free_port()
    arguments = ["--data-dir", "memory", "--host", "127.0.0.1", "-p", str(port)]
    arguments += ["--log-file", str(work / "log"), "--pid-file", str(work / "pid")]
    process = subprocess.Popen([*command, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if port_open(port):
                break
            time.sleep(0.1)
        require(port_open(port), "nx-27017 did not start")
        yield port
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()
