"""Benchmark: our catalog discovery vs SQLAlchemy reflection vs one raw catalog query (PostgreSQL, MariaDB).

python -m bench.discovery [--tables 2000] [--columns 20] [--reps 5] [--memory-tables 10000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

from datasource_registry.connectors import mysql as mysql_connector
from datasource_registry.connectors import postgres as pg_connector
from datasource_registry.connectors.names import NameFilter

PG_DSN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/"
BATCH = 500  # tables per DDL transaction: one transaction for 10,000 tables would exhaust the lock table

RAW_PG = """
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.oid, a.attnum
"""
RAW_MYSQL = (
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, ORDINAL_POSITION"
    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION"
)


def column_list(columns: int) -> list[str]:
    kinds = ["text", "integer", "numeric(12,2)", "timestamp", "boolean", "varchar(64)"]
    return ["id bigint PRIMARY KEY"] + [f"c{i} {kinds[i % len(kinds)]}" for i in range(1, columns)]


def median_ms(function: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(reps):
        gc.collect()
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def interleaved(contenders: dict[str, tuple[Callable[[], Any], int]], reps: int) -> dict[str, tuple[float, Any]]:
    """Median ms per contender, run round-robin so that load from other processes hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, Any] = {}
    for rep in range(reps):
        for name, (function, max_reps) in contenders.items():
            if rep < max_reps:
                gc.collect()
                started = time.perf_counter()
                results[name] = function()
                times[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(times[name]), results[name]) for name in contenders}


def report(title: str, ours: float, sqlalchemy: float | None, raw: float) -> None:
    print(f"\n{title}")
    print(f"  {'ours':<28}{ours:10.1f} ms")
    if sqlalchemy is not None:
        print(f"  {'sqlalchemy reflection':<28}{sqlalchemy:10.1f} ms")
    print(f"  {'raw catalog query (floor)':<28}{raw:10.1f} ms")
    line = f"  ours/raw = {ours / raw:.2f}x (goal <= 2x)"
    if sqlalchemy is not None:
        line += f"   sqlalchemy/ours = {sqlalchemy / ours:.1f}x (goal >= 5x)"
    print(line)


# --- PostgreSQL -----------------------------------------------------------------------------------


def pg_create(conn: Any, schema: str, tables: int, columns: int) -> None:
    body = ", ".join(column_list(columns)).replace("'", "''")
    conn.execute(f'CREATE SCHEMA "{schema}"')
    for start in range(1, tables + 1, BATCH):
        end = min(tables, start + BATCH - 1)
        conn.execute(
            f"DO $$ BEGIN FOR i IN {start}..{end} LOOP "
            f"EXECUTE format('CREATE TABLE %I.%I ({body})', '{schema}', 't_' || lpad(i::text, 5, '0')); "
            "END LOOP; END $$"
        )
    conn.execute(f'ANALYZE "{schema}".t_00001')


def pg_drop(conn: Any, schema: str) -> None:
    while True:
        names = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s LIMIT %s", [schema, BATCH])
        ]
        if not names:
            break
        conn.execute("DROP TABLE " + ", ".join(f'"{schema}"."{n}"' for n in names))
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def compare_postgres(conn: Any, tables: int, columns: int, reps: int) -> None:
    from sqlalchemy import create_engine, inspect

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        pg_create(conn, schema, tables, columns)
        print(f"PostgreSQL: created {tables} tables x {columns} columns in {time.perf_counter() - started:.1f}s")

        engine = create_engine(PG_URL)

        def reflect() -> Any:
            inspector = inspect(engine)  # a fresh inspector: no cached reflection
            return inspector.get_multi_columns(schema=schema), inspector.get_multi_pk_constraint(schema=schema)

        timings = interleaved(
            {
                "ours": (lambda: pg_connector.discover_with(conn, schema, NameFilter()), reps),
                "raw": (lambda: conn.execute(RAW_PG, [schema]).fetchall(), reps),
                "sqlalchemy": (reflect, max(3, reps // 2)),
            },
            reps,
        )
        (ours, discovered), (raw, rows), (sa, (sa_columns, _)) = (
            timings["ours"],
            timings["raw"],
            timings["sqlalchemy"],
        )
        assert len(discovered.tables) == tables and len(discovered.tables[0].columns) == columns
        assert len(rows) == tables * columns and len(sa_columns) == tables
        engine.dispose()
        report(f"PostgreSQL discovery of {tables} tables x {columns} columns (median of {reps})", ours, sa, raw)
    finally:
        pg_drop(conn, schema)


def bench_postgres(tables: int, columns: int, reps: int, memory_tables: int) -> None:
    import psycopg

    conn = psycopg.connect(**PG_DSN, autocommit=True)  # type: ignore[arg-type]
    if tables:
        compare_postgres(conn, tables, columns, reps)
    if memory_tables:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            started = time.perf_counter()
            pg_create(conn, schema, memory_tables, columns)
            print(f"\nPostgreSQL: created {memory_tables} tables in {time.perf_counter() - started:.1f}s")
            # A fresh process, as a Lambda would be: its peak RSS is what the function's memory must hold.
            child = subprocess.run(
                [sys.executable, "-m", "bench.discovery", "--memory-child", schema],
                check=True,
                capture_output=True,
                text=True,
            )
            print(child.stdout.rstrip())
        finally:
            pg_drop(conn, schema)
    conn.close()


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (bigger) parent process.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(schema: str) -> None:
    """Runs in a fresh process: one full discover_schema (connect included), then a tracemalloc'd one."""
    from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, discover_schema

    target = ConnectionTarget(type="postgresql", host="127.0.0.1", port=5432, database_name="test", schema_name=schema)
    policy = NetworkPolicy.from_string("127.0.0.0/8")
    import psycopg  # noqa: F401  (imported up front so the baseline includes the driver)

    baseline = peak_rss_mb()
    started = time.perf_counter()
    result = discover_schema(target, {"username": "postgres"}, policy)
    elapsed = (time.perf_counter() - started) * 1000
    peak_rss = peak_rss_mb()
    tables, columns = len(result.tables), sum(len(t.columns) for t in result.tables)
    del result
    gc.collect()
    tracemalloc.start()
    discover_schema(target, {"username": "postgres"}, policy)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  discover_schema of {tables} tables / {columns} columns in a fresh process:"
        f" {elapsed:.0f} ms; peak RSS {peak_rss:.0f} MB (after imports {baseline:.0f} MB);"
        f" peak Python heap {heap_peak / 2**20:.1f} MB (goal: under 256 MB)"
    )


# --- MariaDB --------------------------------------------------------------------------------------


def bench_mysql(tables: int, columns: int, reps: int) -> None:
    import pymysql
    from sqlalchemy import create_engine, inspect

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True, local_infile=False)
    db = f"bench_{uuid.uuid4().hex[:8]}"
    body = ", ".join(column_list(columns)).replace("timestamp", "datetime")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(1, tables + 1):
                cur.execute(f"CREATE TABLE `{db}`.t_{i:05d} ({body}) ENGINE=InnoDB")
        print(f"\nMariaDB: created {tables} tables x {columns} columns in {time.perf_counter() - started:.1f}s")

        def raw_query() -> Any:
            with conn.cursor() as cur:
                cur.execute(RAW_MYSQL, [db])
                return cur.fetchall()

        engine = create_engine(MYSQL_URL)

        def reflect() -> Any:
            inspector = inspect(engine)
            return inspector.get_multi_columns(schema=db), inspector.get_multi_pk_constraint(schema=db)

        timings = interleaved(
            {
                "ours": (lambda: mysql_connector.discover_with(conn, db, NameFilter()), reps),
                "raw": (raw_query, reps),
                "sqlalchemy": (reflect, 1 if tables > 500 else 3),
            },
            reps,
        )
        (ours, discovered), (raw, rows), (sa, (sa_columns, _)) = (
            timings["ours"],
            timings["raw"],
            timings["sqlalchemy"],
        )
        assert len(discovered.tables) == tables and len(rows) == tables * columns and len(sa_columns) == tables
        engine.dispose()
        report(f"MariaDB discovery of {tables} tables x {columns} columns (median of {reps})", ours, sa, raw)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--memory-tables", type=int, default=10_000, help="0 to skip the memory run")
    parser.add_argument("--mysql-tables", type=int, default=None, help="default: --tables")
    parser.add_argument("--quick", action="store_true", help="200 tables, 3 repetitions, 1,000-table memory run")
    parser.add_argument("--no-mysql", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="only the PostgreSQL memory run")
    parser.add_argument("--memory-child", metavar="SCHEMA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.memory_only:
        args.tables, args.no_mysql = 0, True
    if args.quick:
        args.tables, args.reps, args.memory_tables = 200, 3, 1000
    bench_postgres(args.tables, args.columns, args.reps, args.memory_tables)
    if not args.no_mysql:
        bench_mysql(args.mysql_tables or args.tables, args.columns, args.reps)


if __name__ == "__main__":
    main()
