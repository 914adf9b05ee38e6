"""Elasticsearch and OpenSearch over their REST API: `GET /` to test; indices, data streams and mappings to discover.

The official elasticsearch-py client is not used: since 7.14 it refuses any server that does not send
`X-Elastic-Product: Elasticsearch` (OpenSearch does not), it resolves and connects by itself through urllib3 (no
pinned address), and it weighs several MB for four GET requests. `pinned_http` makes them through the pinned
address, with TLS SNI and the certificate check on the configured host name, under the source's deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.pinned_http import (
    PinnedHttp,
    Response,
    basic_auth,
    configured_url,
    parse_base_url,
    status_error,
)
from datasource_registry.discovered import Column, DiscoveredSchema, Table

DEFAULT_PORT = 9200
MAX_INDICES = 10_000
MAX_COLUMNS = 5_000  # per index (Elasticsearch's own default limit is 1,000 fields)
MAX_DEPTH = 20  # Elasticsearch's default index.mapping.depth.limit
MAX_MAPPING_BYTES = 16 * 1024 * 1024  # one batch of mappings
MAX_LIST_BYTES = 32 * 1024 * 1024  # _cat/indices and _data_stream for up to 10,000 names
MAX_EXPRESSION_CHARS = 3_000  # per request line: index names are joined with commas
# _cat/indices' docs.count is Lucene's: every nested object is a hidden document of its own. Indices (and data
# streams) with a `nested` field are counted with the Count API instead, one request each, up to this many.
MAX_COUNT_REQUESTS = 200
INDICES = "indices"
DATA_STREAMS = "data_streams"
# What an index expression may hold when pushed down: Elasticsearch's index-name characters and `*`.
_PUSHABLE = re.compile(r"^[a-z0-9_\-.+*]+$")


def _http(ctx: Context) -> PinnedHttp:
    base = parse_base_url(ctx, configured_url(ctx, DEFAULT_PORT), DEFAULT_PORT, "sourceConfig.url")
    headers: dict[str, str] = {}
    api_key, username, password = ctx.credential("api_key"), ctx.credential("username"), ctx.credential("password")
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    elif username or password:
        if not (username and password):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "basic authentication needs both username and password")
        headers["Authorization"] = basic_auth(username, password)
    return PinnedHttp(ctx, base, headers)


def _error_detail(response: Response) -> str:
    """Elasticsearch's `{"error": {"type", "reason"}, "status"}` (or OpenSearch's same shape), briefly."""
    document = response.json_or_none()
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        return f"{error.get('type', '')}: {error.get('reason', '')}"[:500]
    return str(error)[:500] if error else ""


def _get_json(client: PinnedHttp, path: str, max_bytes: int, *, missing_ok: bool = False) -> Any:
    response = client.get(path, max_bytes=max_bytes)
    if missing_ok and response.status in {400, 404, 405}:
        return None  # e.g. _data_stream on a server that has none (OpenSearch 1.x, Elasticsearch < 7.9)
    if response.status >= 400 or response.status < 200:
        raise status_error(response.status, response.reason, _error_detail(response))
    return response.json()


def _cluster(ctx: Context, client: PinnedHttp) -> dict[str, Any]:
    client.open()  # the "resolve" and "connect" stages
    with ctx.stage("authenticate"):
        info = _get_json(client, "/", 1024 * 1024)
        if not isinstance(info, dict) or not isinstance(info.get("version"), dict):
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "GET / did not answer with cluster information")
    version = info["version"]
    distribution = "OpenSearch" if version.get("distribution") == "opensearch" else "Elasticsearch"
    ctx.server_version = f"{distribution} {version.get('number', 'unknown')}"
    ctx.details.update(
        clusterName=info.get("cluster_name"), distribution=distribution, buildFlavor=version.get("build_flavor")
    )
    return info


def check(ctx: Context) -> None:
    client = _http(ctx)  # the address is resolved (its own stage) as the client first connects
    _cluster(ctx, client)


# -- discovery --------------------------------------------------------------------------------------------------
def index_expression(ctx: Context, names: NameFilter) -> str:
    """What to ask for: sourceConfig.indexPattern, narrowed by include patterns that Elasticsearch can read.

    An include `indices.logs-*` (or `*.logs-*`) becomes `logs-*`; excludes become `-name` after a wildcard. Anything
    else (a `?`, a class) is filtered here only, after listing what indexPattern names.
    """
    pattern = str(ctx.target.source_config.get("indexPattern") or "*").strip() or "*"
    if any(ch.isspace() for ch in pattern) or "/" in pattern or "?" in pattern or "#" in pattern:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.indexPattern is not an index expression")
    if names.include and pattern == "*":
        pushed = [_pushable(p) for p in names.include]
        if all(p is not None for p in pushed):
            pattern = ",".join(dict.fromkeys(p for p in pushed if p))
    # Only `*.x` excludes: `indices.x` pushed as `-x` would drop a data stream named x too.
    excluded = [p for p in (_pushable(e, ("*.",)) for e in names.exclude) if p]
    if excluded and "*" in pattern:
        pattern += "," + ",".join(f"-{p}" for p in dict.fromkeys(excluded))
    return pattern


def _pushable(glob: str, prefixes: tuple[str, ...] = (f"{INDICES}.", f"{DATA_STREAMS}.", "*.")) -> str | None:
    """`indices.logs-*`, `data_streams.logs-*` or `*.logs-*` -> `logs-*`; None when not expressible."""
    for prefix in prefixes:
        if glob.startswith(prefix):
            rest = glob[len(prefix) :]
            return rest if _PUSHABLE.match(rest) else None
    return None


def _batches(names: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for name in names:
        if batch and size + len(name) + 1 > MAX_EXPRESSION_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(name)
        size += len(quote(name, safe="")) + 1
    if batch:
        yield batch


def flatten_mapping(mappings: Any) -> list[tuple[str, str]]:
    """(dotted path, type) of every field: object and nested properties, multi-fields (`name.keyword`), aliases."""
    if not isinstance(mappings, dict):
        return []
    if "properties" not in mappings:
        # Elasticsearch 6 kept one mapping type level: {"_doc": {"properties": ...}}
        typed = [v for v in mappings.values() if isinstance(v, dict) and "properties" in v]
        if len(typed) == 1:
            mappings = typed[0]
    out: list[tuple[str, str]] = []
    _walk(mappings.get("properties"), "", out, 0)
    return out


def _walk(properties: Any, prefix: str, out: list[tuple[str, str]], depth: int) -> None:
    if not isinstance(properties, dict) or depth > MAX_DEPTH:
        return
    for name, spec in properties.items():
        if len(out) >= MAX_COLUMNS:
            return
        if not isinstance(spec, dict):
            continue
        path = f"{prefix}{name}"
        out.append((path, str(spec.get("type") or "object")))
        _walk(spec.get("properties"), f"{path}.", out, depth + 1)
        fields = spec.get("fields")
        if isinstance(fields, dict):  # multi-fields: one value indexed several ways
            for sub, sub_spec in fields.items():
                if len(out) < MAX_COLUMNS and isinstance(sub_spec, dict):
                    out.append((f"{path}.{sub}", str(sub_spec.get("type") or "object")))


def _table(schema: str, name: str, fields: list[tuple[str, str]], rows: int | None) -> Table:
    columns = [Column("_id", "keyword", False, None, 1)]
    columns += [Column(path, kind, True, None, i) for i, (path, kind) in enumerate(fields, start=2)]
    return Table(schema, name, "table", columns, ["_id"], rows)


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _documents(client: PinnedHttp, name: str) -> int | None:
    """Top-level documents of an index or data stream (`GET /<name>/_count`); None when it cannot be counted."""
    response = client.get(f"/{quote(name, safe='')}/_count", max_bytes=64 * 1024)
    if response.status != 200:
        return None  # e.g. 403: the monitor privilege lists indices, counting needs read
    answer = response.json()
    return _count(answer.get("count")) if isinstance(answer, dict) else None


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    client = _http(ctx)  # the address is resolved (its own stage) as the client first connects
    _cluster(ctx, client)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    with ctx.stage("metadata"):
        expression = index_expression(ctx, names)
        quoted = quote(expression, safe="*,-")
        streams = _get_json(client, f"/_data_stream/{quoted}?expand_wildcards=open", MAX_LIST_BYTES, missing_ok=True)
        stream_list = streams.get("data_streams", []) if isinstance(streams, dict) else []
        backing: dict[str, str] = {}  # backing index -> its data stream
        write_index: dict[str, str] = {}  # data stream -> its newest backing index (whose mapping is current)
        for stream in stream_list:
            if not isinstance(stream, dict) or stream.get("hidden") or stream.get("system"):
                continue
            listed_indices = [i.get("index_name") for i in stream.get("indices") or [] if isinstance(i, dict)]
            indices: list[str] = [i for i in listed_indices if isinstance(i, str)]
            stream_name = stream.get("name")
            if isinstance(stream_name, str) and indices:
                write_index[stream_name] = indices[-1]
                backing.update(dict.fromkeys(indices, stream_name))
        listed = _get_json(
            client,
            f"/_cat/indices/{quoted}?format=json&h=index,status,docs.count&expand_wildcards=open&s=index",
            MAX_LIST_BYTES,
        )
        if not isinstance(listed, list):
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "_cat/indices did not answer with a list")
        counts: dict[str, int | None] = {}
        stream_counts: dict[str, int] = {}
        for row in listed:
            index = row.get("index") if isinstance(row, dict) else None
            if not isinstance(index, str):
                continue
            if index in backing:
                stream_counts[backing[index]] = stream_counts.get(backing[index], 0) + (
                    _count(row.get("docs.count")) or 0
                )
            elif not index.startswith("."):  # hidden and system indices (.kibana, .security ...) are not data
                counts[index] = _count(row.get("docs.count"))
        wanted = [(INDICES, n) for n in sorted(counts) if names(f"{INDICES}.{n}")]
        wanted += [(DATA_STREAMS, n) for n in sorted(write_index) if names(f"{DATA_STREAMS}.{n}")]
        truncated = len(wanted) > MAX_INDICES
        wanted = wanted[:MAX_INDICES]
        to_read = [write_index[n] if kind == DATA_STREAMS else n for kind, n in wanted]
        mappings: dict[str, Any] = {}
        for batch in _batches(to_read):
            joined = ",".join(quote(n, safe="") for n in batch)
            answer = _get_json(client, f"/{joined}/_mapping?expand_wildcards=open,hidden", MAX_MAPPING_BYTES)
            if isinstance(answer, dict):
                mappings.update({k: v.get("mappings") for k, v in answer.items() if isinstance(v, dict)})
        tables = []
        count_requests = 0
        for (kind, name), index in zip(wanted, to_read, strict=True):
            rows = stream_counts.get(name) if kind == DATA_STREAMS else counts.get(name)
            fields = flatten_mapping(mappings.get(index))
            if rows and any(kind_ == "nested" for _, kind_ in fields):
                count_requests += 1
                rows = _documents(client, name) if count_requests <= MAX_COUNT_REQUESTS else None
            tables.append(_table(kind, name, fields, rows))
    return DiscoveredSchema(
        tables,
        details={
            "indexExpression": expression,
            "truncated": truncated,
            "maxIndices": MAX_INDICES,
            "durationMs": round((time.monotonic() - started) * 1000, 1),
        },
    )
