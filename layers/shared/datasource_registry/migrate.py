"""One-off migrations an operator runs against a deployed registry: `python -m datasource_registry.migrate ...`.

`normalize-names` rewrites the name markers written before names were made unique under NFKC + casefold (they
hold the plain casefold): a source whose name differs under the two (fullwidth letters, decomposed accents,
ligatures) would otherwise leave its old marker behind on a rename or delete. Two sources whose names were
distinct before but are one name now are reported on stderr and left as they are: rename one of them.

`move-secrets` finds every data source (all tenants) whose connection string or configuration documents still hold
a secret (records written before the registry split them out) and moves it into the source's Secrets Manager secret
through the ordinary write path. Reads never show such secrets in the meantime, and any later write moves them too.
It needs the function's environment (TABLE_NAME, SECRET_PREFIX, AWS credentials and region; AWS_ENDPOINT_URL for a
local stack) and may be run again: a record with nothing left to move is not written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.runtime import services

RECORD_PREFIX = "DS#"  # the sort key of a data source record (adapters/dynamodb.py)


def data_sources(dynamodb: Any, table: str) -> Iterator[tuple[str, str]]:
    """(tenant, id) of every data source record: a Scan, which only a one-off migration may afford."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(sk, :record)",
        "ExpressionAttributeValues": {":record": {"S": RECORD_PREFIX}},
        "ProjectionExpression": "pk, id",
    }
    for page in dynamodb.get_paginator("scan").paginate(**kwargs):
        for item in page["Items"]:
            yield item["pk"]["S"].removeprefix("T#"), item["id"]["S"]


def move_secrets() -> dict[str, int]:
    """Counts of records moved, already clean, and refused (their strings cannot be split; named on stderr)."""
    registry = services()
    counts = {"moved": 0, "clean": 0, "refused": 0}
    for tenant, source_id in data_sources(registry.dynamodb, registry.settings.table_name):
        try:
            moved = registry.data_sources.move_secrets_out(tenant, source_id)
        except ValidationFailed as refused:
            counts["refused"] += 1
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in refused.errors)
            print(f"{tenant}/{source_id}: not moved ({reasons}); fix it with a PUT", file=sys.stderr)
            continue
        counts["moved" if moved else "clean"] += 1
    return counts


def normalize_names() -> dict[str, int]:
    """Counts of markers rewritten, already right, and clashing (two sources, one name now; named on stderr)."""
    from botocore.exceptions import ClientError

    from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository, name_marker

    registry = services()
    dynamodb, table = registry.dynamodb, registry.settings.table_name
    repository = DynamoDbDataSourceRepository(dynamodb, table)
    counts = {"rewritten": 0, "clean": 0, "clashing": 0}
    for tenant, source_id in data_sources(dynamodb, table):
        source = repository.get(tenant, source_id)
        if source is None:
            continue
        wanted = name_marker(source.spec.name)
        pk = f"T#{tenant}"
        held = [
            item["sk"]["S"]
            for page in dynamodb.get_paginator("query").paginate(
                TableName=table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :name)",
                FilterExpression="id = :id",
                ExpressionAttributeValues={":pk": {"S": pk}, ":name": {"S": "NAME#"}, ":id": {"S": source_id}},
                ConsistentRead=True,
            )
            for item in page["Items"]
        ]
        stale = [marker for marker in held if marker != wanted]
        if not stale:
            counts["clean"] += 1
            continue
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": table,
                    "Key": {"pk": {"S": pk}, "sk": {"S": marker}},
                    "ConditionExpression": "id = :id",
                    "ExpressionAttributeValues": {":id": {"S": source_id}},
                }
            }
            for marker in stale
        ]
        if wanted not in held:
            writes.append(
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": pk}, "sk": {"S": wanted}, "id": {"S": source_id}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            dynamodb.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            counts["clashing"] += 1
            print(f"{tenant}/{source_id}: its name is now another source's name; rename one of them", file=sys.stderr)
            continue
        counts["rewritten"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datasource_registry.migrate")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("move-secrets", help="move secrets kept inside connection strings to Secrets Manager")
    commands.add_parser("normalize-names", help="rewrite name markers to the NFKC + casefold identity")
    args = parser.parse_args(argv)
    print(json.dumps(move_secrets() if args.command == "move-secrets" else normalize_names()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
