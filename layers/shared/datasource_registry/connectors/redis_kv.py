"""Redis (redis-py): connect + AUTH + PING/INFO, and a bounded SCAN sample of key patterns and types."""

from __future__ import annotations

import re
import socket
from collections import Counter
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors.connstring import REDIS_SCHEMES, parse_connection_string
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import redis

DEFAULT_PORT = 6379
# Discovery bounds: SCAN at most this many keys, report at most this many patterns, sample hash fields.
MAX_KEYS_SCANNED = 10_000
SCAN_COUNT = 1_000
MAX_PATTERNS = 500
MAX_HASH_FIELDS = 100
_VARIABLE_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F]{8,}|[0-9a-fA-F-]{36})$")


def _classify(exc: BaseException) -> ErrorCode | None:
    import redis

    if isinstance(exc, redis.AuthenticationError | redis.exceptions.AuthenticationWrongNumberOfArgsError):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return ErrorCode.PERMISSION_DENIED
    if isinstance(exc, redis.TimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(exc, redis.ResponseError) and ("NOAUTH" in str(exc) or "WRONGPASS" in str(exc)):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, redis.ConnectionError):
        return ErrorCode.UNREACHABLE
    return None


def _client(ctx: Context) -> redis.Redis:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    class PinnedConnection(redis.connection.Connection):
        """Uses the socket we opened to the pinned address instead of resolving the host again."""

        def __init__(self, *, pinned_socket: socket.socket, **kwargs: Any) -> None:
            self._pinned_socket = pinned_socket
            super().__init__(**kwargs)  # type: ignore[no-untyped-call]

        def _connect(self) -> socket.socket:
            self._pinned_socket.settimeout(self.socket_timeout)
            return self._pinned_socket

    host, port = ctx.target.host, ctx.target.port or DEFAULT_PORT
    db = int(ctx.target.source_config.get("db", 0) or 0)
    username, password = ctx.credential("username"), ctx.credential("password")
    if ctx.target.connection_string:
        parsed = parse_connection_string(ctx.target.connection_string, REDIS_SCHEMES)
        ctx.scrub.add(parsed.password)
        host, port = parsed.host, parsed.port or DEFAULT_PORT
        db = int(parsed.options.get("db") or parsed.database or db)
        username, password = username or parsed.username, password or parsed.password
    address = ctx.reach(host, port)
    sock = ctx.open(address)
    with ctx.stage("authenticate", _classify):
        timeout = max(ctx.connect_timeout(), 0.1)
        pool = redis.ConnectionPool(
            connection_class=PinnedConnection,
            pinned_socket=sock,
            host=address.ip,
            port=address.port,
            db=db,
            username=username,
            password=password,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        client = redis.Redis(connection_pool=pool, single_connection_client=True, decode_responses=False)
        ctx.resources.callback(client.close)
        client.ping()
    ctx.details["db"] = db
    return client


def check(ctx: Context) -> None:
    client = _client(ctx)
    with ctx.stage("metadata", _classify):
        info: dict[str, Any] = client.info("server")
        ctx.server_version = f"Redis {info.get('redis_version', 'unknown')}"
        ctx.details["keys"] = client.dbsize()


def key_pattern(key: str) -> str:
    """`user:42:profile` -> `user:*:profile`: numeric, hex and UUID segments become `*`."""
    return ":".join("*" if _VARIABLE_SEGMENT.match(part) else part for part in key.split(":"))


def discover(ctx: Context) -> DiscoveredSchema:
    client = _client(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    schema = f"db{ctx.details['db']}"
    with ctx.stage("metadata", _classify):
        client.connection.socket_timeout = max(ctx.query_timeout(), 0.1)  # type: ignore[union-attr]
        counts: Counter[str] = Counter()
        examples: dict[str, bytes] = {}
        cursor, scanned = 0, 0
        while scanned < MAX_KEYS_SCANNED:
            cursor, keys = client.scan(cursor=cursor, count=SCAN_COUNT)
            for key in keys[: MAX_KEYS_SCANNED - scanned]:
                raw = key if isinstance(key, bytes) else key.encode()
                pattern = key_pattern(raw.decode("utf-8", "backslashreplace"))
                if pattern in counts or len(counts) < MAX_PATTERNS:
                    counts[pattern] += 1
                    examples.setdefault(pattern, raw)
            scanned += len(keys)
            if cursor == 0:
                break
        selected = [p for p in sorted(counts) if names(f"{schema}.{p}")]
        pipe = client.pipeline(transaction=False)
        for pattern in selected:
            pipe.type(examples[pattern])
        types = [t.decode() if isinstance(t, bytes) else str(t) for t in pipe.execute()]
        tables = []
        for pattern, kind in zip(selected, types, strict=True):
            columns = [Column("key", "string", False, None, 1)]
            if kind == "hash":
                _, fields = client.hscan(examples[pattern], count=MAX_HASH_FIELDS)
                columns += [
                    Column(
                        f.decode("utf-8", "backslashreplace") if isinstance(f, bytes) else f,
                        "string",
                        True,
                        None,
                        i,
                    )
                    for i, f in enumerate(sorted(fields)[:MAX_HASH_FIELDS], start=2)
                ]
            else:
                columns.append(Column("value", kind, True, None, 2))
            tables.append(Table(schema, pattern, "table", columns, ["key"], counts[pattern]))
    return DiscoveredSchema(
        tables, details={"keysScanned": scanned, "complete": cursor == 0, "maxKeysScanned": MAX_KEYS_SCANNED}
    )


__all__ = ["ConnectorError", "check", "discover", "key_pattern"]
