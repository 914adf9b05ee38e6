"""Drift severities on the type names real engines report: PostgreSQL's format_type and MariaDB's COLUMN_TYPE,
altered with ALTER TABLE between two discoveries, then judged by the widening table of their family."""

from __future__ import annotations

import pytest

from datasource_registry.connectors import ConnectionTarget, diff_schemas, discover_schema
from datasource_registry.domain.drift import family_of

from .conftest import LOOPBACK

# column: (type before, type after, severity of the change)
POSTGRES = {
    "a": ("smallint", "integer", "non_breaking"),
    "b": ("integer", "bigint", "non_breaking"),
    "c": ("bigint", "integer", "breaking"),
    "d": ("varchar(10)", "varchar(20)", "non_breaking"),
    "e": ("varchar(20)", "varchar(10)", "breaking"),
    "f": ("varchar(10)", "text", "non_breaking"),
    "g": ("numeric(10,2)", "numeric(12,2)", "non_breaking"),
    "h": ("numeric(10,2)", "numeric(10,1)", "breaking"),
    "i": ("real", "double precision", "non_breaking"),
    "j": ("timestamp(3)", "timestamp", "non_breaking"),
    "k": ("timestamp", "timestamptz", "breaking"),
    "l": ("integer[]", "bigint[]", "non_breaking"),
    "m": ("integer", "text", "breaking"),
    "n": ("char(5)", "char(8)", "breaking"),
    "o": ("integer", "numeric(12,2)", "non_breaking"),
}
MARIADB = {
    "a": ("tinyint", "smallint", "non_breaking"),
    "b": ("int", "bigint", "non_breaking"),
    "c": ("bigint", "int", "breaking"),
    "d": ("int unsigned", "bigint", "non_breaking"),
    "e": ("int", "int unsigned", "breaking"),
    "f": ("varchar(10)", "varchar(20)", "non_breaking"),
    "g": ("varchar(20)", "varchar(10)", "breaking"),
    "h": ("varchar(100)", "text", "non_breaking"),
    "i": ("decimal(10,2)", "decimal(12,2)", "non_breaking"),
    "j": ("float", "double", "non_breaking"),
    "k": ("enum('x','y')", "enum('x','y','z')", "non_breaking"),
    "l": ("enum('x','y')", "enum('y','x')", "breaking"),
    "m": ("tinyint(1)", "int", "breaking"),
    "n": ("datetime", "datetime(3)", "non_breaking"),
    "o": ("text", "mediumtext", "non_breaking"),
}


def severities(before, after, source_type: str) -> dict[str, tuple[str, str, str]]:
    """column -> (type before, type after, severity), as the engine spelled the types."""
    diff = diff_schemas(before, after, family_of(source_type))
    assert {c.kind.value for c in diff.changes} == {"type_changed"}
    return {c.column or "": (c.before or "", c.after or "", c.severity.value) for c in diff.changes}


@pytest.mark.needs_postgres
def test_postgres_type_changes_are_judged_on_format_type_spellings(pg_schema) -> None:
    import psycopg

    columns = ", ".join(f"{name} {before}" for name, (before, _, _) in POSTGRES.items())
    schema = pg_schema(f'CREATE TABLE "{{schema}}".t ({columns})')
    target = ConnectionTarget(
        type="postgresql", host="127.0.0.1", port=5432, database_name="test", schema_name=schema, connection_timeout=5
    )
    before = discover_schema(target, {"username": "postgres"}, LOOPBACK)
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        for name, (_, after, _) in POSTGRES.items():
            conn.execute(f'ALTER TABLE "{schema}".t ALTER COLUMN {name} TYPE {after} USING {name}::{after}')
    after = discover_schema(target, {"username": "postgres"}, LOOPBACK)

    found = severities(before, after, "postgresql")

    assert {name: severity for name, (_, _, severity) in found.items()} == {
        name: severity for name, (_, _, severity) in POSTGRES.items()
    }
    assert found["j"][:2] == ("timestamp(3) without time zone", "timestamp without time zone")  # engine spelling


@pytest.mark.needs_mysql
def test_mariadb_type_changes_are_judged_on_column_type_spellings(mariadb_database) -> None:
    import pymysql

    columns = ", ".join(f"{name} {before}" for name, (before, _, _) in MARIADB.items())
    db = mariadb_database([f"CREATE TABLE `{{db}}`.t ({columns})"])
    target = ConnectionTarget(
        type="mariadb",
        host="127.0.0.1",
        port=3306,
        database_name=db,
        include_patterns=(f"{db}.*",),
        connection_timeout=5,
    )
    before = discover_schema(target, {"username": "root"}, LOOPBACK)
    with pymysql.connect(host="127.0.0.1", user="root", autocommit=True) as conn, conn.cursor() as cur:
        for name, (_, after, _) in MARIADB.items():
            cur.execute(f"ALTER TABLE `{db}`.t MODIFY {name} {after}")
    after = discover_schema(target, {"username": "root"}, LOOPBACK)

    found = severities(before, after, "mariadb")

    assert {name: severity for name, (_, _, severity) in found.items()} == {
        name: severity for name, (_, _, severity) in MARIADB.items()
    }
