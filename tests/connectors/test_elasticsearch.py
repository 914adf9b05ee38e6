"""Elasticsearch / OpenSearch against a local HTTP(S) server answering `GET /`, `_cat/indices`, `_data_stream` and
`_mapping`, and refusing with 401/403 `security_exception` bodies, as Elastic's REST API documentation shows them.
No Elasticsearch or OpenSearch can run on this machine (a JVM server not on PyPI, Debian or npm); discovery and the
connection test also run against osmem-server (tests/connectors/osmem.py), a third-party in-memory
OpenSearch-compatible server on PyPI (no authentication, no data streams, plain HTTP). An opt-in live test runs
against a real cluster when DS_LIVE_ELASTICSEARCH_URL is set."""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from datasource_registry.connectors import NetworkPolicy, check_connection, discover_schema
from datasource_registry.connectors.elasticsearch import flatten_mapping
from datasource_registry.connectors.errors import ConnectorError
from datasource_registry.connectors.target import ConnectionTarget
from tests.conftest import free_port
from tests.connectors.conftest import JsonHandler, self_signed

from .osmem import call, osmem

pytestmark = pytest.mark.server
LOOPBACK = NetworkPolicy.from_string("127.0.0.0/8")
PASSWORD = "Elastic-Pa55-word"
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="  # Elastic's docs' example, id:key in base64


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# As GET / answers (Elasticsearch 8 "Root API"; OpenSearch adds version.distribution = "opensearch").
def cluster_info(opensearch: bool) -> dict[str, Any]:
    version: dict[str, Any] = {
        "number": "2.17.1" if opensearch else "8.15.0",
        "build_type": "tar",
        "build_hash": "1893d20797e30110e5877170e44d42275ce5951e",
        "build_date": "2024-09-26T21:59:52.691008096Z",
        "build_snapshot": False,
        "lucene_version": "9.11.1",
        "minimum_wire_compatibility_version": "7.10.0",
        "minimum_index_compatibility_version": "7.0.0",
    }
    if opensearch:
        version["distribution"] = "opensearch"
    else:
        version["build_flavor"] = "default"
    return {
        "name": "node-1",
        "cluster_name": "search-cluster",
        "cluster_uuid": "mM2WfL3ZQ2aFf0ZQ4g7bxg",
        "version": version,
        "tagline": "The OpenSearch Project: https://opensearch.org/" if opensearch else "You Know, for Search",
    }


def security_exception(status: int, reason: str) -> dict[str, Any]:
    cause: dict[str, Any] = {"type": "security_exception", "reason": reason}
    if status == 401:
        cause["header"] = {"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"', "ApiKey"]}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


# The cluster's content: indices (with hidden and system ones), a data stream with two backing indices.
MAPPINGS: dict[str, dict[str, Any]] = {
    "orders": {
        "properties": {
            "id": {"type": "long"},
            "placed": {"type": "date"},
            "customer": {
                "properties": {
                    "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
                }
            },
            "lines": {"type": "nested", "properties": {"sku": {"type": "keyword"}, "qty": {"type": "integer"}}},
            "total_alias": {"type": "alias", "path": "id"},
        }
    },
    "orders-archive": {"properties": {"id": {"type": "long"}}},
    "logs-2026": {"properties": {"message": {"type": "text"}}},
    ".kibana_1": {"properties": {"type": {"type": "keyword"}}},
    ".ds-logs-app-default-2026.11.01-000001": {"properties": {"@timestamp": {"type": "date"}}},
    ".ds-logs-app-default-2026.11.20-000002": {
        "properties": {"@timestamp": {"type": "date"}, "message": {"type": "match_only_text"}}
    },
}
# _cat/indices' docs.count is Lucene's, nested objects included ("all document counts include hidden nested
# documents", cat indices API): 1,200 orders of 2 lines each are 3,600; the Count API answers 1,200.
TOP_LEVEL_DOCS = {"orders": 1200}
DOCS = {
    "orders": 3600,
    "orders-archive": 5,
    "logs-2026": 42,
    ".kibana_1": 3,
    ".ds-logs-app-default-2026.11.01-000001": 100,
    ".ds-logs-app-default-2026.11.20-000002": 23,
}
STREAM = {
    "name": "logs-app-default",
    "timestamp_field": {"name": "@timestamp"},
    "indices": [
        {"index_name": ".ds-logs-app-default-2026.11.01-000001", "index_uuid": "a1"},
        {"index_name": ".ds-logs-app-default-2026.11.20-000002", "index_uuid": "a2"},
    ],
    "generation": 2,
    "status": "GREEN",
    "template": "logs",
    "hidden": False,
    "system": False,
}
HIDDEN_STREAM = {**STREAM, "name": ".hidden-stream", "hidden": True, "indices": [{"index_name": ".ds-h-1"}]}


def _matches(expression: str, name: str, *, hidden_ok: bool) -> bool:
    """Elasticsearch's index expression: comma-separated names and `*` wildcards, `-x` excluding after them.
    Backing indices are hidden; `.kibana_1` is a dot index of a cluster from before hidden indices (< 7.7): a
    wildcard still lists it, the connector must skip it."""
    included = False
    for part in expression.split(","):
        if part.startswith("-"):
            if fnmatch.fnmatchcase(name, part[1:]):
                included = False
        elif part == name or (
            "*" in part and fnmatch.fnmatchcase(name, part) and (hidden_ok or not name.startswith(".ds-"))
        ):
            included = True
    return included


@dataclass
class Cluster:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    opensearch: bool = False
    close_each: bool = False  # answer `Connection: close`: every request needs a new connection


def _serve(tls: ssl.SSLContext | None) -> tuple[ThreadingHTTPServer, Cluster]:
    cluster = Cluster("")

    class Handler(JsonHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Elasticsearch does

        def _send(
            self, status: int, body: object, headers: dict[str, str] | None = None, raw: bytes | None = None
        ) -> None:
            extra = {} if cluster.opensearch else {"X-elastic-product": "Elasticsearch"}
            if cluster.close_each:
                extra["Connection"] = "close"
                self.close_connection = True
            super()._send(status, body, {**extra, **(headers or {})}, raw)

        def do_GET(self) -> None:
            cluster.requests.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            auth = self.headers.get("Authorization", "")
            user = "elastic" if auth in {_basic("elastic", PASSWORD), f"ApiKey {API_KEY}"} else None
            if auth == _basic("viewer", PASSWORD):
                user = "viewer"
            if user is None and cluster.opensearch:
                # OpenSearch's security plugin answers a failed login with a plain-text body
                data = b"Unauthorized"
                self.send_response(401)
                self.send_header("Content-Type", "text/plain; charset=UTF-8")
                self.send_header("WWW-Authenticate", 'Basic realm="OpenSearch Security"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if user is None:
                self._send(
                    401,
                    security_exception(401, "unable to authenticate user [elastic] for REST request [/]"),
                    {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'},
                )
                return
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            if path == "/":
                self._send(200, cluster_info(cluster.opensearch))
            elif path.startswith("/_data_stream"):
                expression = path.removeprefix("/_data_stream").strip("/") or "*"
                found = [s for s in (STREAM, HIDDEN_STREAM) if _matches(expression, s["name"], hidden_ok=False)]
                self._send(200, {"data_streams": found})
            elif path.startswith("/_cat/indices"):
                expression = path.removeprefix("/_cat/indices").strip("/") or "*"
                assert query.get("format") == "json" and query.get("expand_wildcards") == "open"
                names = [n for n in DOCS if _matches(expression, n, hidden_ok=False)]
                if _matches(expression, STREAM["name"], hidden_ok=False):
                    names += [i["index_name"] for i in STREAM["indices"]]
                rows = [{"index": n, "status": "open", "docs.count": str(DOCS[n])} for n in sorted(set(names))]
                self._send(200, rows)
            elif path.endswith("/_count") and path.count("/") == 2:
                name = path.split("/")[1]
                if name not in TOP_LEVEL_DOCS:
                    self._send(404, {"error": {"type": "index_not_found_exception"}, "status": 404})
                    return
                shards = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
                self._send(200, {"count": TOP_LEVEL_DOCS[name], "_shards": shards})
            elif path.endswith("/_mapping"):
                if user == "viewer":
                    reason = (
                        "action [indices:admin/mappings/get] is unauthorized for user [viewer] with effective roles"
                        " [viewer] on indices [orders], this action is granted by the index privileges"
                        " [view_index_metadata,manage,all]"
                    )
                    self._send(403, security_exception(403, reason))
                    return
                names = path.removesuffix("/_mapping").strip("/").split(",")
                missing = [n for n in names if n not in MAPPINGS]
                if missing:
                    body = {
                        "error": {"type": "index_not_found_exception", "reason": f"no such index [{missing[0]}]"},
                        "status": 404,
                    }
                    self._send(404, body)
                    return
                self._send(200, {n: {"mappings": MAPPINGS[n]} for n in names})
            else:
                self._send(404, {"error": "no handler found", "status": 404})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if tls else "http"
    cluster.url = f"{scheme}://{'localhost' if tls else '127.0.0.1'}:{server.server_address[1]}"
    return server, cluster


@pytest.fixture
def es() -> Iterator[Cluster]:
    server, cluster = _serve(None)
    yield cluster
    server.shutdown()
    server.server_close()


@pytest.fixture
def es_tls(tmp_path: Path) -> Iterator[tuple[Cluster, Path]]:
    cert, key = self_signed(tmp_path, ca=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server, cluster = _serve(context)
    yield cluster, cert
    server.shutdown()
    server.server_close()


def es_target(
    url: str, *, include: tuple[str, ...] = (), exclude: tuple[str, ...] = (), **config: object
) -> ConnectionTarget:
    return ConnectionTarget(
        type="elasticsearch",
        source_config={"url": url, **config},
        connection_timeout=5,
        include_patterns=include,
        exclude_patterns=exclude,
    )


ELASTIC = {"username": "elastic", "password": PASSWORD}


# -- connection tests --------------------------------------------------------------------------------------------
def test_get_root_reports_the_version_with_basic_auth_and_with_an_api_key(es: Cluster) -> None:
    result = check_connection(es_target(es.url), ELASTIC, LOOPBACK)
    assert result.success, result.error
    assert result.server_version == "Elasticsearch 8.15.0"
    assert result.details["clusterName"] == "search-cluster" and result.details["distribution"] == "Elasticsearch"
    assert es.requests[-1]["authorization"] == _basic("elastic", PASSWORD)
    by_key = check_connection(es_target(es.url), {"api_key": API_KEY}, LOOPBACK)
    assert by_key.success and es.requests[-1]["authorization"] == f"ApiKey {API_KEY}"


def test_opensearch_is_recognised_and_its_plain_text_401_is_auth_failed(es: Cluster) -> None:
    es.opensearch = True
    result = check_connection(es_target(es.url), ELASTIC, LOOPBACK)
    assert result.success and result.server_version == "OpenSearch 2.17.1"
    refused = check_connection(es_target(es.url), {"username": "admin", "password": "Wrong-Pa55"}, LOOPBACK)
    assert refused.error_code == "AUTH_FAILED" and "401" in (refused.error or "")


def test_a_refused_password_is_auth_failed_without_the_password(es: Cluster) -> None:
    result = check_connection(es_target(es.url), {"username": "elastic", "password": "Wrong-Pa55"}, LOOPBACK)
    assert result.error_code == "AUTH_FAILED"
    assert "security_exception" in (result.error or "") and "Wrong-Pa55" not in json.dumps(result.to_dict())


def test_a_missing_privilege_is_permission_denied(es: Cluster) -> None:
    with pytest.raises(ConnectorError) as raised:
        discover_schema(es_target(es.url), {"username": "viewer", "password": PASSWORD}, LOOPBACK, deadline_seconds=10)
    assert raised.value.code == "PERMISSION_DENIED"
    assert "indices:admin/mappings/get" in raised.value.message


def test_bad_configuration_is_invalid_config() -> None:
    for url in ("ftp://search:9200", "https://user:Secret-1@search:9200", "https://search:9200/?q=1", "not a url"):
        assert check_connection(es_target(url), {}, LOOPBACK).error_code == "INVALID_CONFIG", url
    only_user = check_connection(es_target("http://127.0.0.1:9"), {"username": "u"}, LOOPBACK)
    assert only_user.error_code == "INVALID_CONFIG"
    no_host = ConnectionTarget(type="elasticsearch")
    assert check_connection(no_host, {}, LOOPBACK).error_code == "INVALID_CONFIG"


def test_network_paths_closed_silent_and_blocked(silent_server: int) -> None:
    port = free_port()
    started = time.monotonic()
    assert check_connection(es_target(f"http://127.0.0.1:{port}"), {}, LOOPBACK).error_code == "UNREACHABLE"
    assert time.monotonic() - started < 4
    target = ConnectionTarget(
        type="elasticsearch", source_config={"url": f"http://127.0.0.1:{silent_server}"}, connection_timeout=1
    )
    started = time.monotonic()
    assert check_connection(target, {}, LOOPBACK).error_code == "TIMEOUT"
    assert time.monotonic() - started < 3.5  # 1 s asked: the deadline holds, with room for a loaded machine
    blocked = check_connection(es_target("http://169.254.169.254/"), {}, LOOPBACK)
    assert blocked.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in blocked.stages if not s.ok] == ["resolve"]  # refused before any connection
    assert check_connection(es_target(f"http://127.0.0.1:{port}"), {}, NetworkPolicy()).error_code == "BLOCKED_ADDRESS"


def test_an_untrusted_certificate_is_tls_failed_with_the_host_name_as_sni(tls_server) -> None:  # type: ignore[no-untyped-def]
    result = check_connection(es_target(f"https://localhost:{tls_server.port}"), ELASTIC, LOOPBACK)
    assert result.error_code == "TLS_FAILED"
    assert tls_server.server_names == ["localhost"]


def test_https_through_the_pinned_address_with_the_host_name_checked(
    es_tls: tuple[Cluster, Path], monkeypatch: pytest.MonkeyPatch, connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip("the runner's worker process trusts only the system CAs; the untrusted case runs both ways")
    cluster, cert = es_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test CA (ssl.create_default_context reads it)
    result = check_connection(es_target(cluster.url), ELASTIC, LOOPBACK)
    assert result.success, result.error
    schema = discover_schema(es_target(cluster.url), ELASTIC, LOOPBACK, deadline_seconds=10)
    assert "orders" in {t.name for t in schema.tables}


def test_every_connection_goes_to_the_address_resolved_once(
    es: Cluster, monkeypatch: pytest.MonkeyPatch, connector_path: str
) -> None:
    if connector_path == "runner":
        pytest.skip("the resolver is replaced in this process only")
    # Given a name that resolves to the server once, then to the metadata address (DNS rebinding),
    # and a server that closes the connection after every answer
    es.close_each = True
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "es.rebind.test":
            answers.append(host)
            ip = "127.0.0.1" if len(answers) == 1 else "169.254.169.254"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = es.url.replace("127.0.0.1", "es.rebind.test")
    schema = discover_schema(es_target(url), ELASTIC, LOOPBACK, deadline_seconds=10)
    # Then the four requests reconnected to the pinned 127.0.0.1, never resolving the name again
    assert len(schema.tables) == 4 and len(es.requests) >= 4 and answers == ["es.rebind.test"]


# -- discovery ---------------------------------------------------------------------------------------------------
def test_discovery_flattens_mappings_and_counts_documents_skipping_hidden_indices(es: Cluster) -> None:
    schema = discover_schema(es_target(es.url), ELASTIC, LOOPBACK, deadline_seconds=10)
    tables = {t.qualified_name: t for t in schema.tables}
    assert sorted(tables) == [
        "data_streams.logs-app-default",
        "indices.logs-2026",
        "indices.orders",
        "indices.orders-archive",
    ]
    orders = tables["indices.orders"]
    assert [(c.name, c.type) for c in orders.columns] == [
        ("_id", "keyword"),
        ("id", "long"),
        ("placed", "date"),
        ("customer", "object"),
        ("customer.name", "text"),
        ("customer.name.keyword", "keyword"),
        ("lines", "nested"),
        ("lines.sku", "keyword"),
        ("lines.qty", "integer"),
        ("total_alias", "alias"),
    ]
    # top-level documents (the Count API), not _cat/indices' Lucene count with the nested `lines` in it
    assert orders.primary_key == ["_id"] and orders.estimated_rows == 1200
    assert [r["path"] for r in es.requests if "_count" in r["path"]] == ["/orders/_count"]
    stream = tables["data_streams.logs-app-default"]
    # the newest backing index's mapping; documents of every backing index
    assert [c.name for c in stream.columns] == ["_id", "@timestamp", "message"] and stream.estimated_rows == 123
    mapping_requests = [r["path"] for r in es.requests if "_mapping" in r["path"]]
    assert len(mapping_requests) == 1 and ".ds-logs-app-default-2026.11.20-000002" in mapping_requests[0]


def test_include_exclude_are_pushed_into_the_index_expression(es: Cluster) -> None:
    target = es_target(es.url, include=("indices.orders*",), exclude=("*.orders-archive",))
    schema = discover_schema(target, ELASTIC, LOOPBACK, deadline_seconds=10)
    assert [t.name for t in schema.tables] == ["orders"]
    cat = next(r["path"] for r in es.requests if r["path"].startswith("/_cat/indices"))
    assert cat.startswith("/_cat/indices/orders*,-orders-archive?")
    assert schema.details["indexExpression"] == "orders*,-orders-archive"


def test_index_pattern_and_a_pattern_that_cannot_be_pushed(es: Cluster) -> None:
    by_setting = discover_schema(es_target(es.url, indexPattern="logs-*"), ELASTIC, LOOPBACK, deadline_seconds=10)
    assert sorted(t.name for t in by_setting.tables) == ["logs-2026", "logs-app-default"]
    # `?` is no Elasticsearch wildcard: everything is listed, the filter runs here
    local = discover_schema(es_target(es.url, include=("indices.order?",)), ELASTIC, LOOPBACK, deadline_seconds=10)
    assert [t.name for t in local.tables] == ["orders"] and local.details["indexExpression"] == "*"
    bad = check_connection(es_target(es.url, indexPattern="a b"), ELASTIC, LOOPBACK)
    assert bad.success  # the test does not read indexPattern
    with pytest.raises(ConnectorError) as raised:
        discover_schema(es_target(es.url, indexPattern="a b"), ELASTIC, LOOPBACK, deadline_seconds=10)
    assert raised.value.code == "INVALID_CONFIG"


def test_flatten_mapping_reads_elasticsearch_6_type_level_and_bounds_depth() -> None:
    assert flatten_mapping({"_doc": {"properties": {"a": {"type": "keyword"}}}}) == [("a", "keyword")]
    deep: dict[str, Any] = {"type": "keyword"}
    for _ in range(50):
        deep = {"properties": {"x": deep}}
    assert len(flatten_mapping(deep)) <= 22


# -- opt-in live test --------------------------------------------------------------------------------------------
@pytest.mark.skipif(not os.environ.get("DS_LIVE_ELASTICSEARCH_URL"), reason="DS_LIVE_ELASTICSEARCH_URL is not set")
def test_live_elasticsearch() -> None:
    """DS_LIVE_ELASTICSEARCH_URL=https://host:9200 and DS_LIVE_ELASTICSEARCH_API_KEY, or _USERNAME and _PASSWORD."""
    env = os.environ
    credentials = {
        k: v
        for k, v in {
            "api_key": env.get("DS_LIVE_ELASTICSEARCH_API_KEY"),
            "username": env.get("DS_LIVE_ELASTICSEARCH_USERNAME"),
            "password": env.get("DS_LIVE_ELASTICSEARCH_PASSWORD"),
        }.items()
        if v
    }
    target = ConnectionTarget(
        type="elasticsearch", source_config={"url": env["DS_LIVE_ELASTICSEARCH_URL"]}, connection_timeout=20
    )
    result = check_connection(target, credentials, NetworkPolicy())
    assert result.success, result.error
    assert discover_schema(target, credentials, NetworkPolicy(), deadline_seconds=120).tables is not None


# -- against osmem-server, a third-party OpenSearch-compatible server -------------------------------------------
OSMEM_ORDERS = {
    "properties": {
        "id": {"type": "long"},
        "placed": {"type": "date"},
        "customer": {
            "properties": {
                "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "address": {"properties": {"city": {"type": "keyword"}}},
            }
        },
        "lines": {"type": "nested", "properties": {"sku": {"type": "keyword"}, "qty": {"type": "integer"}}},
        "total_alias": {"type": "alias", "path": "id"},
    }
}
OSMEM_PRODUCTS = {
    "properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}, "english": {"type": "text"}}},
        "price": {"type": "scaled_float", "scaling_factor": 100},
        "tags": {"type": "keyword"},
    }
}


@pytest.fixture(scope="module")
def osmem_cluster() -> Iterator[str]:
    """Indices with nested objects, multi-fields and an alias, documents through _bulk, a hidden index."""
    with osmem() as url:
        call(url, "PUT", "/orders", {"mappings": OSMEM_ORDERS})
        call(url, "PUT", "/orders-archive", {"mappings": {"properties": {"id": {"type": "long"}}}})
        call(url, "PUT", "/products", {"mappings": OSMEM_PRODUCTS})
        call(url, "PUT", "/.internal", {"settings": {"index.hidden": True}})
        lines: list[dict[str, Any]] = []
        for i in range(3):  # 3 orders of 2 nested lines: 9 Lucene documents, 3 top-level ones
            order = {"id": i, "placed": "2026-11-01", "customer": {"name": f"c{i}", "address": {"city": "Lyon"}}}
            order["lines"] = [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]
            lines += [{"index": {"_index": "orders", "_id": str(i)}}, order]
        lines += [{"index": {"_index": "orders-archive"}}, {"id": 99}]
        for title in ("Desk", "Lamp"):
            lines += [{"index": {"_index": "products"}}, {"title": title, "price": 9.5, "tags": ["home"]}]
        lines += [{"index": {"_index": ".internal"}}, {"x": 1}]
        answer = call(url, "POST", "/_bulk?refresh=true", lines, ndjson=True)
        assert answer["errors"] is False
        yield url


def test_osmem_check_reports_opensearch(osmem_cluster: str) -> None:
    info = call(osmem_cluster, "GET", "/")
    result = check_connection(es_target(osmem_cluster), {}, LOOPBACK)
    assert result.success, result.error
    assert result.server_version == f"OpenSearch {info['version']['number']}"
    assert result.details["distribution"] == "OpenSearch" and result.details["clusterName"] == info["cluster_name"]


def test_osmem_discovery_columns_and_top_level_document_counts(osmem_cluster: str) -> None:
    schema = discover_schema(es_target(osmem_cluster), {}, LOOPBACK, deadline_seconds=10)
    tables = {t.qualified_name: t for t in schema.tables}
    # the hidden index is not listed; osmem has no data streams (it refuses to create one)
    assert sorted(tables) == ["indices.orders", "indices.orders-archive", "indices.products"]
    orders = tables["indices.orders"]
    assert sorted((c.name, c.type) for c in orders.columns) == sorted(
        [
            ("_id", "keyword"),
            ("id", "long"),
            ("placed", "date"),
            ("customer", "object"),
            ("customer.name", "text"),
            ("customer.name.keyword", "keyword"),
            ("customer.address", "object"),
            ("customer.address.city", "keyword"),
            ("lines", "nested"),
            ("lines.sku", "keyword"),
            ("lines.qty", "integer"),
            ("total_alias", "alias"),
        ]
    )
    # osmem's _cat/indices counts the nested documents, as Elasticsearch and OpenSearch do (9 here); discovery
    # reports the top-level documents
    cat = call(osmem_cluster, "GET", "/_cat/indices/orders?format=json&h=index,docs.count")
    assert cat[0]["docs.count"] == "9"
    assert orders.estimated_rows == 3 and orders.primary_key == ["_id"]
    products = tables["indices.products"]
    assert sorted((c.name, c.type) for c in products.columns) == sorted(
        [
            ("_id", "keyword"),
            ("title", "text"),
            ("title.raw", "keyword"),
            ("title.english", "text"),
            ("price", "scaled_float"),
            ("tags", "keyword"),
        ]
    )
    assert products.estimated_rows == 2 and tables["indices.orders-archive"].estimated_rows == 1


def test_osmem_include_exclude_pushed_down_and_index_pattern(osmem_cluster: str) -> None:
    target = es_target(osmem_cluster, include=("indices.orders*",), exclude=("*.orders-archive",))
    schema = discover_schema(target, {}, LOOPBACK, deadline_seconds=10)
    assert [t.name for t in schema.tables] == ["orders"]
    assert schema.details["indexExpression"] == "orders*,-orders-archive"
    by_pattern = discover_schema(es_target(osmem_cluster, indexPattern="prod*"), {}, LOOPBACK, deadline_seconds=10)
    assert [t.name for t in by_pattern.tables] == ["products"]
    with pytest.raises(ConnectorError) as raised:
        discover_schema(es_target(osmem_cluster, indexPattern="nosuchindex"), {}, LOOPBACK, deadline_seconds=10)
    assert raised.value.code == "NOT_FOUND" and "index_not_found_exception" in raised.value.message


def test_osmem_beyond_the_count_request_bound_a_nested_index_has_no_count(
    osmem_cluster: str, connector_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connector_path == "runner":
        pytest.skip("the bound is lowered in this process only")
    from datasource_registry.connectors import elasticsearch

    monkeypatch.setattr(elasticsearch, "MAX_COUNT_REQUESTS", 0)
    schema = discover_schema(es_target(osmem_cluster), {}, LOOPBACK, deadline_seconds=10)
    rows = {t.name: t.estimated_rows for t in schema.tables}
    # unknown rather than _cat/indices' 9 (nested documents included); indices without nested fields keep theirs
    assert rows == {"orders": None, "orders-archive": 1, "products": 2}
