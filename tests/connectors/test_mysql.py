"""MySQL/MariaDB connector against the local MariaDB (127.0.0.1:3306, root without password)."""

from __future__ import annotations

import time
import uuid

import pytest

from datasource_registry.connectors import ConnectionTarget, check_connection, discover_schema
from datasource_registry.domain.schema_diff import diff_schemas

from .conftest import LOOPBACK, free_port

pytestmark = pytest.mark.needs_mysql

STATEMENTS = [
    "CREATE TABLE `{db}`.customers (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL,"
    " status VARCHAR(10) DEFAULT 'new')",
    "CREATE TABLE `{db}`.order_lines (order_id INT NOT NULL, line_no SMALLINT NOT NULL, amount DECIMAL(12,2),"
    " PRIMARY KEY (line_no, order_id))",
    "CREATE VIEW `{db}`.active AS SELECT id FROM `{db}`.customers",
    "INSERT INTO `{db}`.customers (email) VALUES ('a@x'), ('b@x'), ('c@x')",
    "ANALYZE TABLE `{db}`.customers",
]


def maria(database: str | None = "test", **overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {
        "type": "mariadb",
        "host": "127.0.0.1",
        "port": 3306,
        "database_name": database,
        "connection_timeout": 5,
    }
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


def test_a_reachable_server_passes_every_stage(mariadb_database) -> None:
    db = mariadb_database()

    result = check_connection(maria(db), {"username": "root"}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version and "MariaDB" in result.server_version


def test_a_wrong_password_is_auth_failed_and_never_echoed(mariadb_database) -> None:
    mariadb_database()
    secret = f"S3cr3t-{uuid.uuid4().hex}"

    result = check_connection(maria(), {"username": "root", "password": secret}, LOOPBACK)

    assert result.error_code == "AUTH_FAILED"
    assert result.stages[-1].name == "authenticate"
    assert secret not in repr(result.to_dict())


def test_a_missing_database_is_not_found(mariadb_database) -> None:
    mariadb_database()

    result = check_connection(maria(f"missing_{uuid.uuid4().hex[:8]}"), {"username": "root"}, LOOPBACK)

    assert result.error_code == "NOT_FOUND"


def test_a_server_that_never_sends_its_greeting_times_out(silent_server: int) -> None:
    started = time.monotonic()

    result = check_connection(maria(port=silent_server, connection_timeout=1), {}, LOOPBACK)

    assert result.error_code == "TIMEOUT"
    assert time.monotonic() - started < 2.5


def test_a_closed_port_is_unreachable() -> None:
    result = check_connection(maria(port=free_port()), {}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"


def test_discovery_returns_tables_views_columns_keys_and_estimates(mariadb_database) -> None:
    db = mariadb_database(STATEMENTS)

    discovered = discover_schema(maria(db), {"username": "root"}, LOOPBACK)

    tables = {t.name: t for t in discovered.tables}
    assert set(tables) == {"customers", "order_lines", "active"}
    customers = tables["customers"]
    assert customers.schema == db
    assert [(c.name, c.type, c.nullable) for c in customers.columns] == [
        ("id", "bigint(20)", False),
        ("email", "varchar(200)", False),
        ("status", "varchar(10)", True),
    ]
    assert customers.columns[2].default == "'new'"
    assert customers.primary_key == ["id"]
    assert customers.estimated_rows == 3
    assert tables["order_lines"].primary_key == ["line_no", "order_id"]
    assert tables["active"].kind == "view"


def test_patterns_and_diff(mariadb_database) -> None:
    import pymysql

    db = mariadb_database(STATEMENTS)
    target = maria(db, include_patterns=[f"{db}.*"], exclude_patterns=["*.act*"])
    before = discover_schema(target, {}, LOOPBACK)
    assert sorted(t.name for t in before.tables) == ["customers", "order_lines"]

    with pymysql.connect(host="127.0.0.1", user="root", autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE `{db}`.customers MODIFY email VARCHAR(300) NOT NULL, DROP COLUMN status")
    after = discover_schema(target, {}, LOOPBACK)

    diff = diff_schemas(before, after)
    [change] = diff.tables_changed
    assert change.columns_removed == ["status"]
    assert change.columns_changed[0].after == {"type": "varchar(300)", "nullable": False}
    assert before.fingerprint() != after.fingerprint()


def test_generic_database_source_picks_mysql_from_the_scheme(mariadb_database) -> None:
    db = mariadb_database(STATEMENTS)
    target = ConnectionTarget(type="database", connection_string=f"mariadb://root@127.0.0.1:3306/{db}?charset=utf8mb4")

    discovered = discover_schema(target, {}, LOOPBACK)

    assert len(discovered.tables) == 3
