"""Benchmark: a large PostgreSQL schema discovered as a job (Prefer: respond-async, then the refresh worker).

Creates `--tables` tables (default 20,000, 6 columns each) in a fresh schema of the local PostgreSQL, registers the
source on the local stack (moto server), asks for the discovery as a job over HTTP and lets the worker run it from
the queue, as `make serve` does (the connector itself runs in the sql runner's own process). Prints the job's wall
time, the calling process's peak Python allocations (tracemalloc) and peak RSS growth, the runner processes' peak
RSS, beside the connector's bare discovery (catalog read, no storage) in the same run, so the ratio
is the job's overhead (snapshot storage in moto, bookkeeping). tracemalloc is on for both timed runs.

python -m bench.discovery_job [--tables 20000]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
import tracemalloc
import uuid
from pathlib import Path

import httpx
import psycopg

from datasource_registry.adapters.connectors import LibraryConnectorGateway
from datasource_registry.connectors import NetworkPolicy
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.schema_service import target_of
from devserver import tokens
from devserver.scheduler import LocalScheduler
from devserver.server import LocalApi, LocalServer

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test", "autocommit": True}
BATCH = 500  # tables per DDL transaction


def make_schema(tables: int) -> str:
    schema = f"bench_job_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**PG) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE SCHEMA "{schema}"')
        for start in range(0, tables, BATCH):
            with conn.transaction():
                for i in range(start, min(tables, start + BATCH)):
                    conn.execute(
                        f'CREATE TABLE "{schema}".t{i:05d} (id bigint PRIMARY KEY, name text NOT NULL, '
                        "amount numeric(12,2), created timestamp, flag boolean, code varchar(64))"
                    )
    return schema


def drop_schema(schema: str) -> None:
    """Table by table in batches: one DROP ... CASCADE of 20,000 tables needs more locks than one transaction has."""
    with psycopg.connect(**PG) as conn:  # type: ignore[arg-type]
        names = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
        for start in range(0, len(names), BATCH):
            with conn.transaction():
                for name in names[start : start + BATCH]:
                    conn.execute(f'DROP TABLE "{schema}"."{name}"')
        conn.execute(f'DROP SCHEMA "{schema}"')


def children_peak_rss_mb() -> dict[int, float]:
    """Peak RSS (VmHWM) of this process's children: the runner worker processes, where the connector runs."""
    peaks: dict[int, float] = {}
    me = str(os.getpid())
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
            peaks[int(status.parent.name)] = int(fields["VmHWM"].split()[0]) / 1024
    return peaks


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=20_000)
    args = parser.parse_args()

    started = time.perf_counter()
    schema = make_schema(args.tables)
    print(f"created {args.tables:,} tables in {time.perf_counter() - started:.1f} s (schema {schema})", flush=True)
    api = LocalApi.start()
    server = LocalServer(api, 0).start()
    scheduler = LocalScheduler(api.aws, api.template, api.invoker)
    client = httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {tokens.issue('t_bench', 'editor')}"}, timeout=120
    )
    body = {
        "name": "Big catalogue",
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "databaseName": "test",
        "includePatterns": [f"{schema}.*"],
        "credentials": {"username": "postgres", "password": "unused"},
    }
    try:
        source = client.post("/api/v1/data-sources", json=body).json()

        # The connector alone: the catalog read the job's run starts with
        spec = DataSourceSpec.model_validate({k: v for k, v in body.items() if k != "credentials"})
        gateway = LibraryConnectorGateway(NetworkPolicy.from_string("127.0.0.0/8"))
        gc.collect()
        tracemalloc.start()  # on for both runs, so the ratio compares like with like
        bare_started = time.perf_counter()
        bare = gateway.discover(target_of(spec, {"username": "postgres"}), {"username": "postgres"}, 600)
        bare_seconds = time.perf_counter() - bare_started
        _, bare_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del bare

        # The job: 202 at once, then the worker runs it from the queue
        asked = time.perf_counter()
        accepted = client.post(
            f"/api/v1/data-sources/{source['id']}/discover-schema", headers={"prefer": "respond-async"}
        )
        answered = time.perf_counter() - asked
        if accepted.status_code != 202:
            raise SystemExit(f"discover-schema answered {accepted.status_code}: {accepted.text[:500]}")
        gc.collect()
        rss_before = rss_mb()
        tracemalloc.start()
        run_started = time.perf_counter()
        scheduler.drain()
        run_seconds = time.perf_counter() - run_started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        job = client.get(accepted.headers["location"]).json()
        runner_peaks = children_peak_rss_mb()
        total = time.perf_counter() - asked
    finally:
        server.stop()
        api.aws.stop()
        drop_schema(schema)

    result = job.get("result") or {}
    print(f"job {job['id']}: {job['status']}, {result.get('tableCount')} tables, version {result.get('version')}")
    print(f"{'step':44} {'seconds':>9}")
    print(f"{'POST discover-schema (respond-async) -> 202':44} {answered:9.3f}")
    print(f"{'worker run (catalog + snapshot + records)':44} {run_seconds:9.2f}")
    print(f"{'request to finished job':44} {total:9.2f}")
    print(f"{'connector alone (catalog read, no storage)':44} {bare_seconds:9.2f}")
    print(f"job run / connector alone: {run_seconds / bare_seconds:.2f}x")
    print(
        f"peak Python allocations (tracemalloc): job run {peak / 2**20:.1f} MiB, connector alone {bare_peak / 2**20:.1f} MiB"
    )
    print(f"process peak RSS: {rss_mb():.0f} MiB (before the run: {rss_before:.0f} MiB)")
    print(f"progress recorded: {job['progress']}")
    largest = max(runner_peaks.values(), default=0.0)
    print(
        f"worker processes (the connector runner among them): {len(runner_peaks)}, largest peak RSS {largest:.0f} MiB"
    )


if __name__ == "__main__":
    main()
