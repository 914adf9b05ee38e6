"""MongoDB (pymongo): hello + buildInfo over one pinned member, and collections whose fields are inferred from a
bounded `$sample` of each (plus the `$jsonSchema` validator a collection declares).

Pinning: pymongo resolves names and, given a replica set, discovers and connects to every member it is told of.
Here it is given the pinned IP with `directConnection=True`, so it talks to that one address and nothing else (a
member's `hello` naming other hosts is ignored by a direct connection). `mongodb+srv://` (hosts from DNS SRV
records) and host lists are refused: give one member's host; reads go to it whatever its role. With TLS, SNI and
the certificate's name check use the host name the user gave, not the IP (see `_NamedTLSContext`).
"""

from __future__ import annotations

import datetime
import re
import ssl
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datasource_registry.connectors.connstring import MONGODB_SCHEMES, parse_connection_string, scheme_of
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.globprefix import escape, literal_prefix, might_match
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

if TYPE_CHECKING:
    import pymongo

DEFAULT_PORT = 27017
SYSTEM_DATABASES = ("admin", "local", "config")
# Discovery bounds: collections in all, documents sampled per collection (`$sample`), bytes of sampled documents
# per collection (a document may be 16 MB), fields per collection and nesting depth of flattened paths.
MAX_COLLECTIONS = 10_000
SAMPLE_SIZE = 100
MAX_SAMPLE_BYTES = 16 * 1024 * 1024
MAX_FIELDS = 1_000
MAX_DEPTH = 8
SAMPLE_BATCH = 20

# Server error codes (src/mongo/base/error_codes.yml) that map to stable codes.
_AUTH_CODES = {18, 11}  # AuthenticationFailed, UserNotFound
_PERMISSION_CODES = {13}  # Unauthorized
_NOT_FOUND_CODES = {26}  # NamespaceNotFound
_TIMEOUT_CODES = {50, 262}  # MaxTimeMSExpired, ExceededTimeLimit


def _classify(exc: BaseException) -> ErrorCode | None:
    from bson.errors import InvalidBSON
    from pymongo import errors

    if isinstance(exc, errors.OperationFailure):
        code = exc.code or 0
        if code in _AUTH_CODES or "Authentication failed" in str(exc):
            return ErrorCode.AUTH_FAILED
        if code in _PERMISSION_CODES:
            return ErrorCode.PERMISSION_DENIED
        if code in _NOT_FOUND_CODES:
            return ErrorCode.NOT_FOUND
        if code in _TIMEOUT_CODES or isinstance(exc, errors.ExecutionTimeout):
            return ErrorCode.TIMEOUT
        return ErrorCode.PROTOCOL_ERROR
    if isinstance(exc, errors.ConfigurationError | errors.InvalidURI):
        return ErrorCode.INVALID_CONFIG
    if isinstance(exc, errors.ConnectionFailure):  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
        text = str(exc)
        if "SSL" in text or "certificate" in text or "TLS" in text:
            return ErrorCode.TLS_FAILED
        if "Authentication failed" in text:
            return ErrorCode.AUTH_FAILED
        if isinstance(exc, errors.NetworkTimeout) or "timed out" in text or "Timeout" in text:
            return ErrorCode.TIMEOUT
        return ErrorCode.UNREACHABLE
    if isinstance(exc, InvalidBSON | errors.ProtocolError):
        return ErrorCode.PROTOCOL_ERROR
    if isinstance(exc, errors.PyMongoError) and "timed out" in str(exc):
        return ErrorCode.TIMEOUT
    return None


@dataclass(frozen=True)
class MongoSettings:
    host: str | None
    port: int
    database: str | None
    username: str | None
    password: str | None
    auth_source: str | None
    auth_mechanism: str | None
    replica_set: str | None
    tls: bool


def settings_of(ctx: Context) -> MongoSettings:
    """The target's fields and sourceConfig, or its mongodb:// string (one host, allowlisted options)."""
    target, config = ctx.target, ctx.target.source_config
    tls = config.get("tls")
    if tls is not None and not isinstance(tls, bool):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.tls must be true or false")
    settings = MongoSettings(
        host=target.host,
        port=target.port or DEFAULT_PORT,
        database=target.database_name,
        username=ctx.credential("username"),
        password=ctx.credential("password"),
        auth_source=_text(config.get("authSource"), "authSource"),
        auth_mechanism=None,
        replica_set=_text(config.get("replicaSet"), "replicaSet"),
        tls=bool(tls),
    )
    if not target.connection_string:
        return settings
    if scheme_of(target.connection_string) == "mongodb+srv":
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "mongodb+srv:// is not supported: its hosts come from DNS SRV records that cannot be checked against"
            " the network policy; use mongodb://<one member's host>:<port>",
        )
    parsed = parse_connection_string(target.connection_string, MONGODB_SCHEMES)
    ctx.scrub.add(parsed.password)
    options = parsed.options
    tls_option = options.get("tls") or options.get("ssl")
    return MongoSettings(
        host=parsed.host,
        port=parsed.port or DEFAULT_PORT,
        database=parsed.database or settings.database,
        username=settings.username or parsed.username,
        password=settings.password or parsed.password,
        auth_source=options.get("authSource") or settings.auth_source,
        auth_mechanism=options.get("authMechanism"),
        replica_set=options.get("replicaSet") or settings.replica_set,
        tls=settings.tls or tls_option == "true",
    )


def _text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"sourceConfig.{name} must be a string")
    return value


class _NamedTLSContext(ssl.SSLContext):
    """pymongo connects to the pinned IP and would send that IP as SNI and check the certificate against it:
    this context sends and checks the host name the user gave instead (the system trust store, hostname check on)."""

    server_name: str = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


def named_tls_context(server_name: str) -> ssl.SSLContext:
    context = _NamedTLSContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = server_name
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_default_certs()
    return context


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    import pymongo

    with pymongo.timeout(max(seconds, 0.05)):
        yield


def _client(ctx: Context) -> tuple[pymongo.MongoClient[dict[str, Any]], MongoSettings]:
    import pymongo

    with ctx.stage("resolve"):
        settings = settings_of(ctx)
    ctx.stages.pop()  # parsing is part of the "resolve" stage that follows
    address = ctx.reach(settings.host, settings.port)
    # Our own TCP (and TLS) connection first: a closed port or a bad certificate answers at once with a clear code,
    # where pymongo's server selection would retry until its timeout.
    ctx.open(address, tls_server_name=address.host if settings.tls else None).close()
    with ctx.stage("authenticate", _classify):
        budget_ms = max(int(ctx.connect_timeout() * 1000), 50)
        host = f"[{address.ip}]" if ":" in address.ip else address.ip
        credentials: dict[str, Any] = {}
        if settings.username:
            credentials = {
                "username": settings.username,
                "password": settings.password or "",
                "authSource": settings.auth_source or settings.database or "admin",
            }
            if settings.auth_mechanism:
                credentials["authMechanism"] = settings.auth_mechanism
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            host=host,
            port=address.port,
            directConnection=True,  # this one address only: no replica-set discovery
            connect=False,
            tls=settings.tls,
            serverSelectionTimeoutMS=budget_ms,
            connectTimeoutMS=budget_ms,
            socketTimeoutMS=budget_ms,
            retryReads=False,
            retryWrites=False,
            maxPoolSize=2,
            appname="datasource-registry",
            **credentials,
        )
        ctx.resources.callback(client.close)
        if settings.tls:
            pool_options = client.options.pool_options
            if not hasattr(pool_options, "_PoolOptions__ssl_context"):
                raise ConnectorError(ErrorCode.UNEXPECTED, "this pymongo version cannot keep the TLS server name")
            # Before the first connection: SNI and the certificate check use the host name, not the pinned IP.
            pool_options._PoolOptions__ssl_context = named_tls_context(address.host)
        with _time_limit(ctx.connect_timeout()):
            # Any command authenticates the connection it runs on (pymongo logs in when it checks one out).
            client.get_database(credentials.get("authSource", "admin")).command("ping")
    return client, settings


def check(ctx: Context) -> None:
    client, settings = _client(ctx)
    with ctx.stage("metadata", _classify), _time_limit(ctx.query_timeout()):
        hello = client.admin.command("hello")
        info = client.admin.command("buildInfo")
        ctx.server_version = f"MongoDB {info.get('version', 'unknown')}"
        ctx.details.update(_topology(hello, settings))
        if settings.database:
            ctx.details["database"] = settings.database


def _topology(hello: Mapping[str, Any], settings: MongoSettings) -> dict[str, Any]:
    role = "standalone"
    if hello.get("msg") == "isdbgrid":
        role = "mongos"
    elif hello.get("setName"):
        role = "primary" if hello.get("isWritablePrimary") else "secondary" if hello.get("secondary") else "member"
    set_name = hello.get("setName")
    if settings.replica_set and set_name != settings.replica_set:
        raise ConnectorError(
            ErrorCode.NOT_FOUND,
            f"the server is not a member of replica set {settings.replica_set!r}"
            + (f" (it belongs to {set_name!r})" if set_name else ""),
        )
    details: dict[str, Any] = {"role": role}
    if set_name:
        details["replicaSet"] = set_name
    return details


# -- discovery ------------------------------------------------------------------------------------------------------


def discover(ctx: Context) -> DiscoveredSchema:
    client, settings = _client(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    tables: list[Table] = []
    truncated = False
    with ctx.stage("metadata", _classify):
        if settings.database:
            databases = [settings.database]
        else:
            with _time_limit(ctx.query_timeout()):
                listed = client.admin.command("listDatabases", nameOnly=True, authorizedDatabases=True)
            databases = sorted(str(d["name"]) for d in listed.get("databases", []) if d.get("name"))
            databases = [d for d in databases if d not in SYSTEM_DATABASES and might_match(names, d)]
        for name in databases:
            database = client.get_database(name)
            for spec in _collections(ctx, database, names):
                if len(tables) >= MAX_COLLECTIONS:
                    truncated = True
                    break
                tables.append(_table(ctx, database, spec))
            if truncated:
                break
    details: dict[str, Any] = {"sampleSize": SAMPLE_SIZE, "maxCollections": MAX_COLLECTIONS}
    if truncated:
        details["truncated"] = True
    return DiscoveredSchema(tables, details=details)


def _collections(ctx: Context, database: Any, names: NameFilter) -> Iterator[Mapping[str, Any]]:
    query: dict[str, Any] = {"type": {"$in": ["collection", "view", "timeseries"]}}
    query.update(collection_filter(names, database.name))
    with _time_limit(ctx.query_timeout()):
        specs = list(database.list_collections(filter=query, batch_size=1000).to_list(MAX_COLLECTIONS + 1))
    for spec in sorted(specs, key=lambda s: str(s.get("name"))):
        name = str(spec.get("name"))
        if name.startswith("system.") or not names(f"{database.name}.{name}"):
            continue  # the pushed-down filter is re-checked here: a server that ignored it costs only time
        yield spec


def _table(ctx: Context, database: Any, spec: Mapping[str, Any]) -> Table:
    name = str(spec["name"])
    kind = "view" if spec.get("type") == "view" else "table"
    collection = database.get_collection(name)
    inference = FieldInference()
    estimated: int | None = None
    with _time_limit(ctx.query_timeout()):
        if kind == "view":
            cursor = collection.find({}, limit=SAMPLE_SIZE, batch_size=SAMPLE_BATCH)
        else:
            cursor = collection.aggregate([{"$sample": {"size": SAMPLE_SIZE}}], batchSize=SAMPLE_BATCH)
            if spec.get("type") == "collection":  # a time series collection is a view over its buckets
                estimated = int(collection.estimated_document_count())
        with cursor:
            for document in cursor:
                inference.add(document)
                if inference.sampled_bytes >= MAX_SAMPLE_BYTES:
                    break
    validator = (spec.get("options") or {}).get("validator") or {}
    schema = validator.get("$jsonSchema") if isinstance(validator, Mapping) else None
    columns = columns_of(inference, schema if isinstance(schema, Mapping) else None)
    return Table(database.name, name, kind, columns, ["_id"] if kind == "table" else [], estimated)


def collection_filter(names: NameFilter, database: str) -> dict[str, Any]:
    """The include/exclude globs on "database.collection" as a listCollections filter on `name` for one database:
    only patterns whose database part is written literally are pushed down; the rest stay client-side."""
    from datasource_registry import globs

    def local_patterns(patterns: Iterable[str]) -> list[str] | None:
        out: list[str] = []
        for pattern in patterns:
            prefix, rest = literal_prefix(pattern)
            head = database + "."
            if prefix.startswith(head):
                out.append(escape(prefix[len(head) :]) + (rest or ""))
            elif rest is None or not head.startswith(prefix):
                continue  # cannot match a collection of this database
            else:
                return None  # a wildcard inside the database part: not pushed down
        return out

    clauses: list[dict[str, Any]] = []
    if names.include:
        included = local_patterns(names.include)
        if included is not None:
            if not included:
                return {"name": {"$in": []}}
            clauses.append({"name": {"$regex": globs.any_of_regex(included, "python"), "$options": "s"}})
    if names.exclude:
        excluded = local_patterns(names.exclude) or []
        if excluded:
            regex = re.compile(globs.any_of_regex(excluded, "python"), re.DOTALL)
            clauses.append({"name": {"$not": regex}})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


# -- field inference ------------------------------------------------------------------------------------------------


@dataclass
class _Field:
    types: set[str] = field(default_factory=set)
    seen: int = 0  # documents (or array elements' parents) in which the path was present


@dataclass
class FieldInference:
    """Paths and BSON types seen in sampled documents: nested documents flattened as `a.b`, array elements as
    `a[]` (so `items[].sku` is a field of the documents inside the array `items`)."""

    fields: dict[str, _Field] = field(default_factory=dict)
    documents: int = 0
    sampled_bytes: int = 0

    def add(self, document: Mapping[str, Any]) -> None:
        self.documents += 1
        self.sampled_bytes += _size(document)
        self._walk(document, "", 0, set())

    def _walk(self, document: Mapping[str, Any], prefix: str, depth: int, present: set[str]) -> None:
        for key, value in document.items():
            path = f"{prefix}{key}"
            self._note(path, value, present)
            if depth + 1 >= MAX_DEPTH:
                continue
            if isinstance(value, Mapping):
                self._walk(value, path + ".", depth + 1, present)
            elif isinstance(value, list):
                self._walk_array(value, path + "[]", depth + 1, present)

    def _walk_array(self, items: list[Any], path: str, depth: int, present: set[str]) -> None:
        for item in items[:SAMPLE_SIZE]:
            self._note(path, item, present)
            if depth + 1 >= MAX_DEPTH:
                continue
            if isinstance(item, Mapping):
                self._walk(item, path + ".", depth + 1, present)
            elif isinstance(item, list):
                self._walk_array(item, path + "[]", depth + 1, present)

    def _note(self, path: str, value: Any, present: set[str]) -> None:
        entry = self.fields.get(path)
        if entry is None:
            if len(self.fields) >= MAX_FIELDS:
                return
            entry = self.fields[path] = _Field()
        entry.types.add(bson_type(value))
        if path not in present:
            present.add(path)
            entry.seen += 1


def _size(document: Mapping[str, Any]) -> int:
    raw = getattr(document, "raw", None)
    if isinstance(raw, bytes):
        return len(raw)
    import bson

    return len(bson.encode(document))


def bson_type(value: Any) -> str:
    """The BSON type's name as MongoDB's `$type` spells it."""
    import bson

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, bson.Int64):
        return "long"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, bson.Code):  # a str subclass
        return "javascript"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bson.ObjectId):
        return "objectId"
    if isinstance(value, datetime.datetime | bson.datetime_ms.DatetimeMS):
        return "date"
    if isinstance(value, bson.Decimal128):
        return "decimal"
    if isinstance(value, bson.Timestamp):
        return "timestamp"
    if isinstance(value, bson.Binary | bytes | uuid.UUID):
        return "binData"
    if isinstance(value, bson.Regex | re.Pattern):
        return "regex"
    if isinstance(value, bson.DBRef):
        return "dbPointer"
    if isinstance(value, bson.MinKey):
        return "minKey"
    if isinstance(value, bson.MaxKey):
        return "maxKey"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _type_name(types: Iterable[str]) -> str:
    concrete = sorted(set(types) - {"null"})
    return "|".join(concrete) if concrete else "null"


def validator_fields(schema: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, tuple[str, bool]]:
    """path -> (type, required) from a `$jsonSchema` validator: `bsonType` (or JSON `type`), `required`,
    nested `properties` and array `items`, flattened like sampled fields."""
    out: dict[str, tuple[str, bool]] = {}
    if depth >= MAX_DEPTH:
        return out
    properties = schema.get("properties")
    required = set(schema.get("required") or ())
    if not isinstance(properties, Mapping):
        return out
    for key, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        path = f"{prefix}{key}"
        declared = _declared_type(spec)
        nullable_declared = "null" in declared.split("|")
        out[path] = (declared, key in required and not nullable_declared)
        if isinstance(spec.get("properties"), Mapping):
            out.update(validator_fields(spec, path + ".", depth + 1))
        items = spec.get("items")
        if isinstance(items, Mapping):
            out[path + "[]"] = (_declared_type(items), False)
            if isinstance(items.get("properties"), Mapping):
                out.update(validator_fields(items, path + "[].", depth + 1))
    return out


_JSON_TYPES = {"integer": "int", "number": "double", "boolean": "bool", "string": "string"}


def _declared_type(spec: Mapping[str, Any]) -> str:
    value = spec.get("bsonType", spec.get("type"))
    values = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    names = [_JSON_TYPES.get(str(v), str(v)) for v in values]
    if "null" in names and len(names) > 1:
        return "|".join(sorted(n for n in names if n != "null")) + "|null"
    return "|".join(sorted(names)) if names else "any"


def columns_of(inference: FieldInference, validator: Mapping[str, Any] | None = None) -> list[Column]:
    """Columns by path (`_id` first, then sorted, so a new sample in another order is not a change): a field is
    nullable when a sampled document lacked it or held null, unless the validator requires it."""
    declared = validator_fields(validator) if validator else {}
    paths = set(inference.fields) | set(declared)
    ordered = sorted(paths, key=lambda p: (p != "_id", p))[:MAX_FIELDS]
    columns = []
    for ordinal, path in enumerate(ordered, start=1):
        sampled = inference.fields.get(path)
        if path in declared:
            type_name, required = declared[path]
            nullable = not required
        else:
            assert sampled is not None
            type_name = _type_name(sampled.types)
            top_level = "." not in path and "[]" not in path
            missing = top_level and sampled.seen < inference.documents
            nullable = path != "_id" and ("null" in sampled.types or missing or not top_level)
        columns.append(Column(path, type_name, nullable, None, ordinal))
    return columns


__all__ = ["FieldInference", "bson_type", "check", "collection_filter", "columns_of", "discover", "validator_fields"]
