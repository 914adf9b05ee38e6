"""Sweep benchmark: the cost of one sweep follows what is due, not the size of the data sources table.

Loads 1,000 sources (10 due) and 100,000 sources (1,000 due) into two moto tables built from template.yaml,
runs one sweep over each and prints items read per due item, SQS batches and the time ratio beside the ratio of
due items and of table sizes. Run: `python -m bench.sweep` (about a minute or two on two cores).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository
from datasource_registry.adapters.queues import SqsRefreshQueue
from datasource_registry.adapters.refresh_schedule import DynamoDbRefreshSchedule
from datasource_registry.domain.ids import new_data_source_id
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.refresh_service import RefreshSweeper
from devserver.aws import EmbeddedAws, free_port
from devserver.template import load, physical_name

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TENANTS = 100


def sources(count: int, due: int) -> list[DataSource]:
    spec = DataSourceSpec.model_validate(
        {"name": "bench", "type": "postgresql", "host": "db", "port": 5432, "databaseName": "d", "status": "active"}
    )
    base = DataSource(id="ds_x", tenant_id="t", key="k", spec=spec, created_at=NOW, updated_at=NOW, created_by="bench")
    step = max(1, count // due)
    made = []
    for i in range(count):
        is_due = i % step == 0 and i // step < due
        # Not-due sources are spread over the next day, as real schedules are.
        when = NOW - timedelta(seconds=30) if is_due else NOW + timedelta(seconds=60 + (i * 7919) % 86400)
        made.append(
            base.model_copy(
                update={
                    "id": new_data_source_id(int(NOW.timestamp() * 1000) - i),
                    "tenant_id": f"t_bench{i % TENANTS:03d}",
                    "key": f"source-{i}",
                    "spec": spec.model_copy(update={"name": f"Source {i}"}),
                    "next_refresh_at": when,
                }
            )
        )
    return made


def load_table(aws: EmbeddedAws, table: str, count: int, due: int) -> tuple[float, list[datetime]]:
    dynamodb = aws.client("dynamodb")
    properties = load().resources["DataSourcesTable"]["Properties"]
    dynamodb.create_table(
        TableName=table,
        **{
            k: v
            for k, v in properties.items()
            if k in {"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"}
        },
    )
    repository = DynamoDbDataSourceRepository(dynamodb, table)
    made = sources(count, due)
    items = [repository.to_item(source) for source in made]
    started = time.perf_counter()
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        while requests:
            unprocessed = dynamodb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = unprocessed.get(table, [])
    return time.perf_counter() - started, sorted(s.next_refresh_at for s in made if s.next_refresh_at)


class TimedQueries:
    """The DynamoDB client with the time spent in Query added up (moto answers a GSI Query by walking the table)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.seconds = 0.0

    def query(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._client.query(**kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def sweep(aws: EmbeddedAws, table: str, queue_url: str, now: datetime = NOW) -> tuple[float, float, int, int, int]:
    client = TimedQueries(aws.client("dynamodb"))
    index = DynamoDbRefreshSchedule(client, table)  # type: ignore[arg-type]
    sweeper = RefreshSweeper(index, SqsRefreshQueue(aws.client("sqs"), queue_url), clock=lambda: now)
    started = time.perf_counter()
    report = sweeper.sweep()
    elapsed = time.perf_counter() - started
    return elapsed, client.seconds, index.items_read, report.claimed, report.batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    args = parser.parse_args()

    aws = EmbeddedAws.start(free_port())
    try:
        sqs = aws.client("sqs")
        rows = []
        for label, count in (("small", args.small), ("large", args.large)):
            due = max(1, round(count * args.due_percent / 100))
            table = physical_name(f"Bench{label.title()}Table")
            queue_url = sqs.create_queue(QueueName=physical_name(f"Bench{label.title()}Queue"))["QueueUrl"]
            loaded, due_times = load_table(aws, table, count, due)
            rows.append((label, count, due, loaded, *sweep(aws, table, queue_url)))
            print(f"loaded and swept {count} sources", flush=True)
        # The large table again, when exactly as many are due as in the small one: the size is the only change.
        later = [moment for moment in due_times if moment > NOW]
        until = later[rows[0][2] - 1]
        due_then = sum(1 for moment in later if moment <= until)  # due times can tie, so count them
        rows.append(("large*", args.large, due_then, 0.0, *sweep(aws, table, queue_url, until)))

        print(
            f"{'table':>6} {'sources':>8} {'due':>6} {'load s':>7} {'sweep s':>8} {'query s':>8} {'claim+send s':>12}"
            f" {'read':>6} {'read/due':>8} {'claimed':>8} {'batches':>8}"
        )
        for label, count, due, loaded, elapsed, querying, read, claimed, batches in rows:
            print(
                f"{label:>6} {count:>8} {due:>6} {loaded:>7.1f} {elapsed:>8.3f} {querying:>8.3f}"
                f" {elapsed - querying:>12.3f} {read:>6} {read / due:>8.2f} {claimed:>8} {batches:>8}"
            )
        print("(large* = the large table swept again when only as many sources are due as in the small one)")
        print()
        small = rows[0]
        print(
            f"{'ratio to small':<16} {'due items':>10} {'table size':>11} {'items read':>11} {'sweep time':>11} {'claim+send':>11}"
        )
        for row in rows[1:]:
            print(
                f"{row[0]:<16} {row[2] / small[2]:>10.1f} {row[1] / small[1]:>11.1f} {row[6] / small[6]:>11.1f}"
                f" {row[4] / small[4]:>11.1f} {(row[4] - row[5]) / (small[4] - small[5]):>11.1f}"
            )
        print("sweep time includes moto's GSI Query, which walks the whole table in Python (DynamoDB reads the index);")
        print("claim+send is the sweep without it. Goal: items read per due item <= 1.1:")
        print("  " + ", ".join(f"{row[0]} {row[6] / row[2]:.2f}" for row in rows))
    finally:
        aws.stop()


if __name__ == "__main__":
    main()
