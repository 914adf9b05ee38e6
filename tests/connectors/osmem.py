"""Starts osmem-server (PyPI `osmem-server`, a dev dependency): a third-party in-memory OpenSearch-compatible server
(a static binary in the wheel), the real server the elasticsearch connector's REST calls are run against next to
the local server written from Elastic's documentation. It has no security plugin (no authentication) and no data
streams (`PUT _data_stream/x` answers 400 unsupported_operation_exception)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import free_port, require


@contextlib.contextmanager
def osmem() -> Iterator[str]:
    """The http:// URL of a fresh server on a free 127.0.0.1 port, stopped after (fails under CI when missing)."""
    try:
        from osmem_server import OsmemServer, resolve_binary

        binary = resolve_binary()  # the wheel's binary, or OSMEM_SERVER_BIN
    except Exception as exc:  # not installed, or no binary for this platform
        binary, reason = "", str(exc)
    else:
        reason = f"{binary} does not exist"
    require(bool(binary) and Path(binary).is_file(), f"osmem-server (dev dependency) is not usable: {reason}")
    server = OsmemServer.start(japanese=False, addr=f"127.0.0.1:{free_port()}", binary=binary, startup_timeout=20)
    try:
        yield server.url
    finally:
        server.close()


def call(url: str, method: str, path: str, body: Any = None, *, ndjson: bool = False) -> Any:
    """One REST request; the decoded answer. An error status raises AssertionError with the server's answer."""
    if body is None:
        data = None
    elif ndjson:
        data = "".join(json.dumps(line) + "\n" for line in body).encode()
    else:
        data = json.dumps(body).encode()
    content_type = "application/x-ndjson" if ndjson else "application/json"
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()[:500]}") from None
