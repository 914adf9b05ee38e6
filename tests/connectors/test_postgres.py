"""PostgreSQL connector against the local server (127.0.0.1:5432, trust auth, database `test`)."""

from __future__ import annotations

import time
import uuid

import pytest

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectorError,
    check_connection,
    discover_schema,
)
from datasource_registry.connectors.errors import WITHHELD
from datasource_registry.domain.schema_diff import diff_schemas

from .conftest import LOOPBACK

pytestmark = pytest.mark.needs_postgres

DDL = """
CREATE TABLE {schema}.customers (
    id bigserial PRIMARY KEY, email varchar(200) NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE {schema}.order_lines (
    order_id int NOT NULL, line_no smallint NOT NULL, amount numeric(12,2), PRIMARY KEY (line_no, order_id));
CREATE VIEW {schema}.big_customers AS SELECT id, email FROM {schema}.customers;
CREATE TABLE {schema}.audit_log (at timestamptz);
INSERT INTO {schema}.customers (email) SELECT 'u' || g || '@x' FROM generate_series(1, 500) g;
ANALYZE {schema}.customers;
"""


def pg(schema: str | None = None, **overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "database_name": "test",
        "schema_name": schema,
        "connection_timeout": 5,
    }
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


def test_a_reachable_server_passes_every_stage(pg_schema) -> None:
    result = check_connection(pg(), {"username": "postgres"}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert all(s.ok and s.duration_ms >= 0 for s in result.stages)
    assert result.server_version and result.server_version.startswith("PostgreSQL")
    body = result.to_dict()
    assert body["success"] is True and body["errorCode"] is None
    assert set(body["stages"][0]) == {"name", "ok", "durationMs", "error"}


def test_a_missing_database_is_not_found_and_the_password_never_appears(pg_schema) -> None:
    # Given a password that also appears in the driver's error text (it is the database name)
    secret = f"pw_{uuid.uuid4().hex}"
    target = pg(database_name=secret)

    result = check_connection(target, {"username": "postgres", "password": secret}, LOOPBACK)

    assert result.error_code == "NOT_FOUND"
    assert result.stages[-1].name == "authenticate"
    assert secret not in repr(result.to_dict())
    # The server's message quoted the secret: it is withheld whole, not masked inside (which would show its place)
    assert result.error == WITHHELD


def test_a_password_in_the_connection_string_is_scrubbed() -> None:
    secret = f"pw_{uuid.uuid4().hex}"
    target = ConnectionTarget(
        type="database",
        connection_string=f"postgresql://postgres:{secret}@127.0.0.1:5432/{secret}",
        connection_timeout=5,
    )

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "NOT_FOUND"
    assert secret not in repr(result.to_dict())


def test_a_closed_port_is_unreachable_at_the_connect_stage() -> None:
    from .conftest import free_port

    result = check_connection(pg(port=free_port()), {}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert [s.name for s in result.stages] == ["resolve", "connect"]


def test_a_server_that_never_answers_fails_within_the_connection_timeout(silent_server: int) -> None:
    started = time.monotonic()

    result = check_connection(pg(port=silent_server, connection_timeout=2), {}, LOOPBACK)

    elapsed = time.monotonic() - started
    assert result.error_code == "TIMEOUT"
    assert elapsed < 4, f"took {elapsed:.1f}s"


def test_the_smaller_deadline_wins_over_the_connection_timeout(silent_server: int) -> None:
    started = time.monotonic()

    result = check_connection(pg(port=silent_server, connection_timeout=60), {}, LOOPBACK, deadline_seconds=2)

    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 4


def test_discovery_returns_tables_views_columns_keys_and_estimates(pg_schema) -> None:
    schema = pg_schema(DDL)

    discovered = discover_schema(pg(schema), {"username": "postgres"}, LOOPBACK)

    tables = {t.name: t for t in discovered.tables}
    assert set(tables) == {"customers", "order_lines", "big_customers", "audit_log"}
    customers = tables["customers"]
    assert customers.kind == "table" and tables["big_customers"].kind == "view"
    assert [c.name for c in customers.columns] == ["id", "email", "created_at"]
    assert [c.type for c in customers.columns] == [
        "bigint",
        "character varying(200)",
        "timestamp with time zone",
    ]
    assert [c.nullable for c in customers.columns] == [False, False, True]
    assert customers.columns[0].default and customers.columns[0].default.startswith("nextval(")
    assert customers.columns[2].default == "now()"
    assert customers.primary_key == ["id"]
    assert customers.estimated_rows == 500
    assert tables["order_lines"].primary_key == ["line_no", "order_id"]  # key order, not column order
    assert tables["audit_log"].primary_key == []


def test_include_and_exclude_patterns_select_tables(pg_schema) -> None:
    schema = pg_schema(DDL)
    target = pg(include_patterns=[f"{schema}.*"], exclude_patterns=["*.audit_*", "*.big_?ustomers"])

    discovered = discover_schema(target, {}, LOOPBACK)

    assert sorted(t.name for t in discovered.tables) == ["customers", "order_lines"]


def test_fingerprint_is_stable_and_changes_with_the_schema(pg_schema) -> None:
    import psycopg

    schema = pg_schema(DDL)
    first = discover_schema(pg(schema), {}, LOOPBACK)
    again = discover_schema(pg(schema), {}, LOOPBACK)
    assert first.fingerprint() == again.fingerprint()

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {schema}.customers ADD COLUMN phone text, ALTER COLUMN email DROP NOT NULL")
        conn.execute(f"DROP TABLE {schema}.audit_log")
        conn.execute(f"CREATE TABLE {schema}.invoices (id int)")
    changed = discover_schema(pg(schema), {}, LOOPBACK)

    assert changed.fingerprint() != first.fingerprint()
    diff = diff_schemas(first, changed)
    assert diff.tables_added == [f"{schema}.invoices"]
    assert diff.tables_removed == [f"{schema}.audit_log"]
    [customers] = diff.tables_changed
    assert customers.columns_added == ["phone"]
    assert customers.columns_changed[0].name == "email"
    assert customers.columns_changed[0].before["nullable"] is False
    assert customers.columns_changed[0].after["nullable"] is True
    assert diff.summary()["tablesAdded"] == 1


def test_discovery_of_an_unreachable_server_raises_a_stable_code() -> None:
    from .conftest import free_port

    with pytest.raises(ConnectorError) as caught:
        discover_schema(pg(port=free_port()), {}, LOOPBACK)

    assert caught.value.code == "UNREACHABLE"


def test_generic_database_source_picks_postgres_from_the_scheme(pg_schema) -> None:
    schema = pg_schema(DDL)
    target = ConnectionTarget(
        type="database",
        connection_string="postgres://postgres@127.0.0.1:5432/test?sslmode=disable&application_name=registry-test",
        schema_name=schema,
    )

    discovered = discover_schema(target, {}, LOOPBACK)

    assert len(discovered.tables) == 4


def test_redshift_uses_the_postgres_protocol_without_primary_keys(pg_schema) -> None:
    # Redshift's primary keys are informational and it lacks array_position: the local server stands in.
    schema = pg_schema(DDL)

    discovered = discover_schema(pg(schema, type="redshift"), {}, LOOPBACK)

    assert len(discovered.tables) == 4
    assert all(t.primary_key == [] for t in discovered.tables)
