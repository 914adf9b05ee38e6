"""The nosql connectors' pure parts: MongoDB documents and `$jsonSchema` validators -> columns, include/exclude ->
listCollections filters, connection strings, driver errors -> stable codes; Cassandra system_schema rows -> tables,
and the connection class that refuses every endpoint but the pinned one."""

from __future__ import annotations

import datetime
import random
import re
import uuid
from typing import Any

import pytest

from datasource_registry.connectors import mongodb
from datasource_registry.connectors.cassandra import _classify as cassandra_code
from datasource_registry.connectors.cassandra import estimates_of, pinned_connection_class, tables_of
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.globprefix import literal_prefix, might_match
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.network import NetworkPolicy, PinnedAddress
from datasource_registry.connectors.target import ConnectionTarget

# --- MongoDB: BSON types --------------------------------------------------------------------------------------------


def test_bson_types_are_named_as_mongodb_names_them() -> None:
    import bson

    cases: list[tuple[Any, str]] = [
        (None, "null"),
        (True, "bool"),
        (7, "int"),
        (2**40, "long"),
        (bson.Int64(5), "long"),
        (1.5, "double"),
        ("x", "string"),
        (bson.ObjectId(), "objectId"),
        (datetime.datetime(2026, 1, 1), "date"),
        (bson.Decimal128("1.10"), "decimal"),
        (bson.Timestamp(1, 1), "timestamp"),
        (bson.Binary(b"\x00", 0), "binData"),
        (uuid.uuid4(), "binData"),
        (bson.Regex("^a"), "regex"),
        (bson.Code("function(){}"), "javascript"),
        (bson.MinKey(), "minKey"),
        (bson.MaxKey(), "maxKey"),
        ({"a": 1}, "object"),
        ([1], "array"),
    ]
    assert [(mongodb.bson_type(value), name) for value, name in cases] == [(name, name) for _, name in cases]


def test_decoded_bson_keeps_int32_and_int64_apart() -> None:
    import bson

    decoded = bson.decode(bson.encode({"small": 1, "big": bson.Int64(1)}))

    assert mongodb.bson_type(decoded["small"]) == "int"
    assert mongodb.bson_type(decoded["big"]) == "long"


# --- MongoDB: field inference ---------------------------------------------------------------------------------------


def infer(*documents: dict[str, Any], validator: dict[str, Any] | None = None) -> dict[str, tuple[str, bool]]:
    inference = mongodb.FieldInference()
    for document in documents:
        inference.add(document)
    return {c.name: (c.type, c.nullable) for c in mongodb.columns_of(inference, validator)}


def test_nested_documents_are_flattened_with_dots_and_arrays_marked() -> None:
    columns = infer(
        {"_id": 1, "a": {"b": {"c": "x"}}, "tags": ["t"], "items": [{"sku": "s", "qty": 1}, {"sku": "t"}]},
    )

    assert columns == {
        "_id": ("int", False),
        "a": ("object", False),
        "a.b": ("object", True),
        "a.b.c": ("string", True),
        "items": ("array", False),
        "items[]": ("object", True),
        "items[].qty": ("int", True),
        "items[].sku": ("string", True),
        "tags": ("array", False),
        "tags[]": ("string", True),
    }


def test_a_field_missing_or_null_in_some_documents_is_nullable_and_mixed_types_are_listed() -> None:
    columns = infer({"_id": 1, "n": 1, "s": "a"}, {"_id": 2, "n": 2.5, "s": None}, {"_id": 3, "n": "x"})

    assert columns["n"] == ("double|int|string", False)
    assert columns["s"] == ("string", True)


def test_columns_are_ordered_id_first_then_by_path_whatever_the_sample_order() -> None:
    one = mongodb.FieldInference()
    one.add({"z": 1, "_id": 1, "a": 1})
    other = mongodb.FieldInference()
    other.add({"a": 1, "z": 1, "_id": 1})

    assert mongodb.columns_of(one) == mongodb.columns_of(other)
    assert [c.name for c in mongodb.columns_of(one)] == ["_id", "a", "z"]


def test_fields_and_depth_are_bounded() -> None:
    inference = mongodb.FieldInference()
    inference.add({f"f{i}": i for i in range(mongodb.MAX_FIELDS + 500)})
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(mongodb.MAX_DEPTH + 5):
        deep = {"d": deep}
    inference.add(deep)

    columns = mongodb.columns_of(inference)
    assert len(columns) == mongodb.MAX_FIELDS
    assert max(name.count(".") for name in infer(deep)) < mongodb.MAX_DEPTH


def test_sampled_bytes_are_counted() -> None:
    inference = mongodb.FieldInference()
    inference.add({"blob": "x" * 1000})

    assert 1000 < inference.sampled_bytes < 1100


# --- MongoDB: $jsonSchema validators --------------------------------------------------------------------------------

# The validator of MongoDB's documentation ("Specify JSON Schema Validation", the `students` collection).
STUDENTS = {
    "bsonType": "object",
    "title": "Student Object Validation",
    "required": ["address", "major", "name", "year"],
    "properties": {
        "name": {"bsonType": "string", "description": "'name' must be a string and is required"},
        "year": {"bsonType": "int", "minimum": 2017, "maximum": 3017},
        "gpa": {"bsonType": ["double"], "description": "'gpa' must be a double if the field exists"},
        "major": {"enum": ["Math", "English", "Computer Science", "History", None]},
        "address": {
            "bsonType": "object",
            "required": ["city"],
            "properties": {"street": {"bsonType": "string"}, "city": {"bsonType": "string"}},
        },
        "nickname": {"bsonType": ["string", "null"]},
        "scores": {"bsonType": "array", "items": {"bsonType": "object", "properties": {"v": {"type": "number"}}}},
    },
}


def test_a_validator_declares_types_and_required_fields() -> None:
    assert mongodb.validator_fields(STUDENTS) == {
        "name": ("string", True),
        "year": ("int", True),
        "gpa": ("double", False),
        "major": ("any", True),
        "address": ("object", True),
        "address.street": ("string", False),
        "address.city": ("string", True),
        "nickname": ("string|null", False),
        "scores": ("array", False),
        "scores[]": ("object", False),
        "scores[].v": ("double", False),
    }


def test_validator_fields_win_over_the_sample_and_appear_when_never_sampled() -> None:
    columns = infer(
        {"_id": 1, "name": "Ada", "year": 2020, "extra": True}, {"_id": 2, "year": 2021}, validator=STUDENTS
    )

    assert columns["name"] == ("string", False)  # required by the validator, though the second sample lacks it
    assert columns["gpa"] == ("double", True)  # declared only
    assert columns["extra"] == ("bool", True)  # sampled only, and missing from the second document
    assert columns["address.city"] == ("string", False)


# --- MongoDB: include/exclude pushdown ------------------------------------------------------------------------------


def test_literal_prefix_stops_at_the_first_wildcard_and_reads_escapes() -> None:
    assert literal_prefix("shop.orders") == ("shop.orders", None)
    assert literal_prefix("shop.ord*") == ("shop.ord", "*")
    assert literal_prefix(r"a\*b.c?") == ("a*b.c", "?")
    assert literal_prefix("[ab]x.*") == ("", "[ab]x.*")


def test_databases_an_include_pattern_cannot_reach_are_skipped() -> None:
    names = NameFilter(("shop.*", "logs_2026*"))

    assert might_match(names, "shop")
    assert might_match(names, "logs_2026_01")
    assert not might_match(names, "billing")
    assert not might_match(NameFilter(("shop.orders",)), "shopping")
    assert might_match(NameFilter(("*.orders",)), "anything")
    assert might_match(NameFilter(()), "anything")


def test_patterns_with_a_literal_database_are_pushed_down_as_a_name_regex() -> None:
    names = NameFilter(("shop.ord*", "other.x"), ("shop.orders_tmp",))

    query = mongodb.collection_filter(names, "shop")

    include, exclude = query["$and"]
    assert include["name"]["$options"] == "s"
    assert re.fullmatch(include["name"]["$regex"], "orders")
    assert not re.fullmatch(include["name"]["$regex"], "x")
    assert exclude["name"]["$not"].fullmatch("orders_tmp")
    assert mongodb.collection_filter(NameFilter(("other.*",)), "shop") == {"name": {"$in": []}}
    assert mongodb.collection_filter(NameFilter(("s*.orders",)), "shop") == {}  # wildcard in the database part


def test_the_pushed_down_filter_selects_exactly_what_the_name_filter_keeps() -> None:
    rng = random.Random(7)
    alphabet = "ab.*?_[]"
    for _ in range(300):
        patterns = tuple("shop." + "".join(rng.choice("ab.*?_") for _ in range(rng.randint(0, 4))) for _ in range(2))
        excludes = tuple("shop." + "".join(rng.choice("ab*") for _ in range(rng.randint(1, 3))) for _ in range(1))
        names = NameFilter(patterns, excludes)
        query = mongodb.collection_filter(names, "shop")
        clauses = query.get("$and", [query] if query else [])
        for _ in range(20):
            name = "".join(rng.choice(alphabet[:5]) for _ in range(rng.randint(1, 5)))
            kept = True
            for clause in clauses:
                spec = clause["name"]
                if "$regex" in spec:
                    kept &= re.search(spec["$regex"], name, re.DOTALL) is not None
                if "$not" in spec:
                    kept &= spec["$not"].search(name) is None
            assert kept == names(f"shop.{name}"), (patterns, excludes, name)


# --- MongoDB: settings and connection strings -----------------------------------------------------------------------


def settings(target: ConnectionTarget, credentials: dict[str, str] | None = None) -> mongodb.MongoSettings:
    ctx = Context.create(target, credentials or {}, NetworkPolicy(), 5, None, whole_call_is_connect=True)
    return mongodb.settings_of(ctx)


def test_a_connection_string_gives_host_database_and_allowlisted_options() -> None:
    target = ConnectionTarget(
        type="mongodb", connection_string="mongodb://reader:pw@db.example.com:27018/sales?authSource=admin&tls=true"
    )

    got = settings(target, {"password": "from-secrets"})

    assert (got.host, got.port, got.database, got.username) == ("db.example.com", 27018, "sales", "reader")
    assert (got.password, got.auth_source, got.tls) == ("from-secrets", "admin", True)


def test_fields_and_source_config_without_a_connection_string() -> None:
    target = ConnectionTarget(
        type="mongodb", host="db.example.com", source_config={"authSource": "users", "tls": True, "replicaSet": "rs0"}
    )

    got = settings(target, {"username": "reader", "password": "pw"})

    assert (got.host, got.port, got.auth_source, got.tls, got.replica_set) == (
        "db.example.com",
        27017,
        "users",
        True,
        "rs0",
    )


@pytest.mark.parametrize(
    "config", [{"tls": "yes"}, {"authSource": 3}, {"replicaSet": ["a"]}], ids=["tls", "authSource", "replicaSet"]
)
def test_settings_of_the_wrong_kind_are_invalid_config(config: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError) as caught:
        settings(ConnectionTarget(type="mongodb", host="db.example.com", source_config=config))

    assert caught.value.code == ErrorCode.INVALID_CONFIG


def test_srv_strings_are_refused() -> None:
    with pytest.raises(ConnectorError) as caught:
        settings(ConnectionTarget(type="mongodb", connection_string="mongodb+srv://cluster0.example.net/"))

    assert caught.value.code == ErrorCode.INVALID_CONFIG
    assert "SRV" in caught.value.message


def test_the_tls_context_sends_the_host_name_whatever_pymongo_passes() -> None:
    context = mongodb.named_tls_context("db.example.com")

    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"
    assert isinstance(context, mongodb._NamedTLSContext) and context.server_name == "db.example.com"


# --- MongoDB: errors ------------------------------------------------------------------------------------------------


def test_pymongo_errors_map_to_stable_codes() -> None:
    from pymongo import errors

    cases = [
        (errors.OperationFailure("Authentication failed.", code=18), ErrorCode.AUTH_FAILED),
        (errors.OperationFailure("not authorized on db to execute command", code=13), ErrorCode.PERMISSION_DENIED),
        (errors.OperationFailure("ns does not exist", code=26), ErrorCode.NOT_FOUND),
        (errors.ExecutionTimeout("operation exceeded time limit", code=50), ErrorCode.TIMEOUT),
        (errors.ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused"), ErrorCode.UNREACHABLE),
        (errors.ServerSelectionTimeoutError("127.0.0.1:9: timed out"), ErrorCode.TIMEOUT),
        (errors.ServerSelectionTimeoutError("SSL handshake failed: [SSL] wrong version"), ErrorCode.TLS_FAILED),
        (errors.NetworkTimeout("read timed out"), ErrorCode.TIMEOUT),
        (errors.ConfigurationError("bad option"), ErrorCode.INVALID_CONFIG),
        (errors.OperationFailure("unknown", code=2), ErrorCode.PROTOCOL_ERROR),
    ]
    assert [(mongodb._classify(exc), code) for exc, code in cases] == [(code, code) for _, code in cases]


# --- Cassandra ------------------------------------------------------------------------------------------------------


def column(table: str, name: str, kind: str, position: int, type_name: str) -> dict[str, Any]:
    """A system_schema.columns row as Cassandra 3.0+ documents it (regular and static columns have position -1)."""
    return {
        "keyspace_name": "shop",
        "table_name": table,
        "column_name": name,
        "clustering_order": "asc" if kind == "clustering" else "none",
        "kind": kind,
        "position": position,
        "type": type_name,
    }


def test_system_schema_columns_become_keys_and_columns() -> None:
    rows = [
        column("orders", "total", "regular", -1, "decimal"),
        column("orders", "order_id", "clustering", 1, "timeuuid"),
        column("orders", "placed", "clustering", 0, "timestamp"),
        column("orders", "region", "partition_key", 1, "text"),
        column("orders", "customer", "partition_key", 0, "uuid"),
        column("orders", "flag", "static", -1, "boolean"),
        column("orders", "attrs", "regular", -1, "frozen<map<text, list<int>>>"),
        column("ignored", "id", "partition_key", 0, "int"),
    ]

    (table,) = tables_of("shop", {"orders": "table"}, rows)

    assert table.qualified_name == "shop.orders" and table.kind == "table"
    assert table.primary_key == ["customer", "region", "placed", "order_id"]
    assert [(c.name, c.type, c.nullable, c.ordinal) for c in table.columns] == [
        ("customer", "uuid", False, 1),
        ("region", "text", False, 2),
        ("placed", "timestamp", False, 3),
        ("order_id", "timeuuid", False, 4),
        ("flag", "boolean", True, 5),
        ("attrs", "frozen<map<text, list<int>>>", True, 6),
        ("total", "decimal", True, 7),
    ]
    assert table.estimated_rows is None


def test_size_estimates_rows_sum_partitions_count_per_table() -> None:
    # system.size_estimates as documented: one row per (keyspace_name, table_name, range_start, range_end) the
    # node owns, with mean_partition_size and partitions_count.
    def estimate(table: str, start: str, end: str, count: int | None) -> dict[str, Any]:
        return {
            "keyspace_name": "shop",
            "table_name": table,
            "range_start": start,
            "range_end": end,
            "mean_partition_size": 240,
            "partitions_count": count,
        }

    rows = [
        estimate("orders", "-9223372036854775808", "0", 1500),
        estimate("orders", "0", "9223372036854775807", 1700),
        estimate("customers", "-9223372036854775808", "9223372036854775807", 12),
        estimate("empty", "-9223372036854775808", "9223372036854775807", 0),
        estimate("unknown", "-9223372036854775808", "9223372036854775807", None),
    ]

    totals = estimates_of(rows)

    assert totals == {"orders": 3200, "customers": 12, "empty": 0}
    tables = tables_of("shop", {"orders": "table", "by_status": "view"}, [], {**totals, "by_status": 9})
    assert [(t.name, t.estimated_rows) for t in tables] == [("by_status", None), ("orders", 3200)]


def test_a_view_keeps_its_kind_and_a_table_without_rows_has_no_columns() -> None:
    tables = tables_of(
        "shop", {"by_status": "view", "empty": "table"}, [column("by_status", "s", "partition_key", 0, "text")]
    )

    assert [(t.name, t.kind, len(t.columns)) for t in tables] == [("by_status", "view", 1), ("empty", "table", 0)]


def test_the_connection_class_refuses_any_endpoint_but_the_pinned_one() -> None:
    from cassandra.connection import ConnectionException, DefaultEndPoint

    pinned = PinnedAddress("db.example.com", "203.0.113.7", 9042, 2)
    connection_class = pinned_connection_class(pinned)

    for endpoint in (DefaultEndPoint("203.0.113.8", 9042), DefaultEndPoint("203.0.113.7", 9043)):
        with pytest.raises(ConnectionException, match="only the pinned address"):
            connection_class(endpoint)


def test_cassandra_errors_map_to_stable_codes() -> None:
    import cassandra
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException

    cases = [
        (cassandra.AuthenticationFailed("bad credentials"), ErrorCode.AUTH_FAILED),
        (NoHostAvailable("no host", {"127.0.0.1:9042": cassandra.AuthenticationFailed("x")}), ErrorCode.AUTH_FAILED),
        (NoHostAvailable("no host", {"127.0.0.1:9042": ConnectionRefusedError(111, "refused")}), ErrorCode.UNREACHABLE),
        (cassandra.OperationTimedOut("timed out"), ErrorCode.TIMEOUT),
        (cassandra.Unauthorized("no SELECT permission"), ErrorCode.PERMISSION_DENIED),
        (cassandra.InvalidRequest("Keyspace 'x' does not exist"), ErrorCode.NOT_FOUND),
        (ConnectionException("Timed out creating connection"), ErrorCode.TIMEOUT),
    ]
    assert [(cassandra_code(exc), code) for exc, code in cases] == [(code, code) for _, code in cases]
