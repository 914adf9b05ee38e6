"""Bad input on every route: each answers 4xx with the problem shape, and nothing is stored.

A refused request changes nothing, so the cases of one route share one tenant and one source (linked to its data
system): each case still reads the tenant's records before and after, and checks the stored state is consistent.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devserver import tokens
from devserver.openapi import document
from devserver.server import LocalServer
from devserver.template import Route
from tests.prove.conftest import scan
from tests.prove.harness import assert_consistent, new_source, records, routes, sample

BODY_ROUTES = [route for route in routes() if "requestBody" in document()["paths"][route.path][route.method.lower()]]


def _deep(levels: int) -> Any:
    node: Any = "leaf"
    for _ in range(levels):
        node = {"a": node}
    return node


RAW_BODIES: dict[str, tuple[bytes, str | None]] = {
    "malformed JSON": (b'{"name": ', "application/json"),
    "not UTF-8": (b'{"name": "\xff\xfe"}', "application/json"),
    "wrong content type": (b'{"name": "x"}', "text/plain"),
    "form content type": (b"name=x", "application/x-www-form-urlencoded"),
    "missing content type": (b'{"name": "x"}', None),
    "past the size limit": (json.dumps({"name": "x", "description": "y" * 300_000}).encode(), "application/json"),
    "past API Gateway's limit": (b" " * (10 * 1024 * 1024 + 1), "application/json"),
    "nesting that breaks the parser": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "an array": (b"[]", "application/json"),
    "a string": (b'"x"', "application/json"),
    "null": (b"null", "application/json"),
    "empty": (b"", "application/json"),
}
FIELD_VALUES: dict[str, tuple[str, Any]] = {
    "deeply nested metadata": ("metadata", _deep(40)),
    "huge name": ("name", "n" * 100_000),
    "unknown field": ("noSuchField", 1),
    "name of the wrong type": ("name", 12345),
    "port of the wrong type": ("port", ["5432"]),
    "port as a boolean": ("port", True),
    "tags of the wrong type": ("tags", "a,b"),
    "NUL in the name": ("name", "bad\x00name"),
    "newline in the name": ("name", "bad\nname"),
    "escape in the name": ("name", "bad\x1b[31mname"),
    "lone surrogate in the name": ("name", "bad\ud800name"),
    "unicode in the key": ("key", "clé-ünïcode"),
    "right-to-left mark in the key": ("key", "abc\u202edef"),
    "space in the key": ("key", "a key"),
    "control character in a tag": ("tags", ["ok", "b\x07d"]),
}


Shared = tuple[str, httpx.Client, dict[str, Any], int]  # tenant, its editor, its source, a number for unique names


@pytest.fixture(scope="module")
def shared(server: LocalServer) -> Iterator[Callable[[Route], Shared]]:
    """Per route: a tenant of its own, an editor whose every answer is scanned for credentials, and one source."""
    made: dict[tuple[str, str], tuple[str, httpx.Client, dict[str, Any]]] = {}
    numbers = itertools.count(1)

    def get(route: Route) -> Shared:
        key = (route.method, route.path)
        if key not in made:
            tenant = f"t_{uuid.uuid4().hex[:12]}"
            client = httpx.Client(
                base_url=server.url,
                headers={"authorization": f"Bearer {tokens.issue(tenant, 'editor')}"},
                timeout=30,
                event_hooks={"response": [lambda response: scan(response.read().decode(), "a response body")]},
            )
            made[key] = (tenant, client, new_source(client, "base"))
        # A fresh number per case: a case that is not refused (an unknown query parameter on a collection route)
        # creates a source or system of its own, never one whose name or key an earlier case took.
        return (*made[key], next(numbers))

    yield get
    for _, client, _ in made.values():
        client.close()


def _assert_refused(local_api, tenant: str, before: dict[str, Any], response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == response.status_code
    assert records(local_api.aws, tenant) == before, "a refused request stored something"
    assert_consistent(local_api.aws, tenant)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("case", list(RAW_BODIES))
def test_a_bad_body_is_refused_with_a_problem_and_nothing_stored(local_api, shared, route, case):
    # Given a source and a body that is not a JSON object we can read
    tenant, api, source, n = shared(route)
    call = sample(route).build(source, n)
    before = records(local_api.aws, tenant)
    content, content_type = RAW_BODIES[case]
    headers = {**call.headers, **({"content-type": content_type} if content_type else {})}
    # When it is sent, Then it is refused with a problem and nothing is stored
    response = api.request(call.method, call.url, params=call.params, content=content, headers=headers)
    _assert_refused(local_api, tenant, before, response)
    if case.startswith("past"):
        assert response.status_code == 413
    if "content type" in case:
        assert response.status_code == 415


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("case", list(FIELD_VALUES))
def test_a_bad_field_is_refused_with_a_problem_and_nothing_stored(local_api, shared, route, case):
    tenant, api, source, n = shared(route)
    call = sample(route).build(source, n)
    before = records(local_api.aws, tenant)
    name, value = FIELD_VALUES[case]
    body = {**call.json, name: value}
    content = json.dumps(body).encode()  # ensure_ascii: control characters and surrogates travel as \u escapes
    response = api.request(
        call.method,
        call.url,
        params=call.params,
        content=content,
        headers={**call.headers, "content-type": "application/json"},
    )
    _assert_refused(local_api, tenant, before, response)
    if response.status_code == 400 and case != "unknown field":
        assert response.json()["errors"], "a 400 names the field and why"


BAD_PARAMETERS = {
    "too long": "k" * 5000,
    "mis-encoded": "%ZZ",
    "overlong UTF-8": "%C0%AF",
    "encoded NUL": "%00",
    "encoded slash": "a%2Fb",
    "encoded control": "%1B%5B31m",
    "long multi-byte": "%C3%A9" * 1000,  # 2000 bytes: past DynamoDB's sort key limit if it were looked up
}


@pytest.mark.parametrize("route", routes(), ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
def test_bad_path_and_query_parameters_are_refused_with_a_problem(local_api, shared, route, case):
    tenant, api, source, n = shared(route)
    call = sample(route).build(source, n)
    before = records(local_api.aws, tenant)
    raw = BAD_PARAMETERS[case]
    url = call.url
    if "{" in route.path:
        url = route.path.split("{")[0] + raw  # the path parameter, sent as raw (already percent-encoded) text
    query = "&".join(f"{name}={raw}" for name in [*(call.params or {}), "limit"])
    content = json.dumps(call.json).encode() if call.json is not None else None
    headers = {**call.headers, **({"content-type": "application/json"} if content else {})}
    response = api.request(call.method, httpx_url(url, query), content=content, headers=headers)
    if response.status_code < 400:
        # An unknown query parameter is ignored; a route without parameters may still succeed: nothing bad stored.
        assert "{" not in route.path and not call.params, (case, response.status_code)
        return
    _assert_refused(local_api, tenant, before, response)


def httpx_url(path: str, query: str) -> httpx.URL:
    # A URL built this way keeps '%' sequences exactly as written (httpx would otherwise re-encode them).
    return httpx.URL(path, query=query.encode())
