"""Schema snapshots in the data sources table: a meta item per version and gzip'd chunks of tables beside it."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from datasource_registry.adapters.backoff import pause, with_backoff
from datasource_registry.adapters.dynamodb import tenant_pk, written_by
from datasource_registry.domain.errors import DependencyUnavailable
from datasource_registry.domain.ports import SnapshotMeta, StaleVersion

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# DynamoDB items stop at 400 KB; 300 KB of JSON per chunk, gzip'd, stays far below whatever the tables hold.
CHUNK_BYTES = 300 * 1024
BATCH_WRITE = 25
BATCH_GET = 100


def _meta_sk(data_source_id: str, version: int) -> str:
    return f"SCHEMA#{data_source_id}#{version:06d}"


def _chunk_sk(data_source_id: str, version: int, write_id: str, index: int) -> str:
    return f"SCHEMACHUNK#{data_source_id}#{version:06d}#{write_id}#{index:05d}"


def chunked(tables: list[dict[str, Any]]) -> tuple[list[bytes], tuple[int, ...]]:
    """Split tables into compressed chunks; returns the chunks and the index of each chunk's first table."""
    chunks: list[bytes] = []
    starts: list[int] = []
    current: list[str] = []
    size = 0
    for index, table in enumerate(tables):
        encoded = json.dumps(table, separators=(",", ":"), ensure_ascii=False)
        if current and size + len(encoded) > CHUNK_BYTES:
            chunks.append(gzip.compress(("[" + ",".join(current) + "]").encode(), compresslevel=6))
            current, size = [], 0
        if not current:
            starts.append(index)
        current.append(encoded)
        size += len(encoded) + 1
    if current:
        chunks.append(gzip.compress(("[" + ",".join(current) + "]").encode(), compresslevel=6))
    return chunks, tuple(starts)


class DynamoDbSnapshotStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, tenant_id: str, sort_key: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": sort_key}}

    @staticmethod
    def _meta_of(item: dict[str, Any]) -> SnapshotMeta:
        rows = item.get("estimatedRows", {}).get("N")
        return SnapshotMeta(
            version=int(item["version"]["N"]),
            fingerprint=item["fingerprint"]["S"],
            discovered_at=datetime.fromisoformat(item["discoveredAt"]["S"]),
            table_count=int(item["tableCount"]["N"]),
            estimated_rows=int(rows) if rows is not None else None,
            chunk_starts=tuple(int(n["N"]) for n in item["chunkStarts"]["L"]),
            write_id=item["writeId"]["S"],
        )

    def latest(self, tenant_id: str, data_source_id: str) -> SnapshotMeta | None:
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(tenant_id)},
                ":prefix": {"S": f"SCHEMA#{data_source_id}#"},
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        return self._meta_of(items[0]) if items else None

    def meta(self, tenant_id: str, data_source_id: str, version: int) -> SnapshotMeta | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, _meta_sk(data_source_id, version)), ConsistentRead=True
        ).get("Item")
        return self._meta_of(item) if item else None

    def save(
        self, tenant_id: str, data_source_id: str, meta: SnapshotMeta, tables: list[dict[str, Any]]
    ) -> SnapshotMeta:
        chunks, starts = chunked(tables)
        keys = [
            self._key(tenant_id, _chunk_sk(data_source_id, meta.version, meta.write_id, i)) for i in range(len(chunks))
        ]
        self._write(
            [{"PutRequest": {"Item": {**key, "data": {"B": data}}}} for key, data in zip(keys, chunks, strict=True)]
        )
        stored = SnapshotMeta(**{**meta.__dict__, "chunk_starts": starts})
        item: dict[str, Any] = {
            **self._key(tenant_id, _meta_sk(data_source_id, meta.version)),
            "version": {"N": str(meta.version)},
            "fingerprint": {"S": meta.fingerprint},
            "discoveredAt": {"S": meta.discovered_at.isoformat()},
            "tableCount": {"N": str(meta.table_count)},
            "chunkStarts": {"L": [{"N": str(n)} for n in starts]},
            "writeId": {"S": meta.write_id},
        }
        if meta.estimated_rows is not None:
            item["estimatedRows"] = {"N": str(meta.estimated_rows)}

        def commit() -> None:
            try:
                # The meta item is the commit point: chunks without it are never read.
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as error:
                # A repeat of this very write (its response was lost) finds its own writeId: it committed.
                own = error.response["Error"]["Code"] == "ConditionalCheckFailedException" and written_by(
                    error.response.get("Item"), meta.write_id
                )
                if not own:
                    raise

        try:
            with_backoff(commit, what="DynamoDB")
        except ClientError as error:
            self._write([{"DeleteRequest": {"Key": key}} for key in keys])
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleVersion(data_source_id) from None
            raise
        # Any other failure leaves the outcome unknown: the chunks stay (never read without their meta item).
        return stored

    def tables(
        self, tenant_id: str, data_source_id: str, meta: SnapshotMeta, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        end = min(offset + limit, meta.table_count)
        if offset >= end:
            return []
        starts = meta.chunk_starts
        wanted = [
            i
            for i, first in enumerate(starts)
            if first < end and (starts[i + 1] if i + 1 < len(starts) else meta.table_count) > offset
        ]
        keys = [self._key(tenant_id, _chunk_sk(data_source_id, meta.version, meta.write_id, i)) for i in wanted]
        by_sort_key: dict[str, bytes] = {}
        for batch in range(0, len(keys), BATCH_GET):
            pending: list[dict[str, Any]] = keys[batch : batch + BATCH_GET]
            for attempt in range(8):
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}}
                )
                for item in response["Responses"].get(self._table, []):
                    by_sort_key[item["sk"]["S"]] = item["data"]["B"]
                unprocessed: Any = response.get("UnprocessedKeys") or {}
                pending = unprocessed.get(self._table, {}).get("Keys", [])
                if not pending:
                    break
                pause(attempt)  # throttled: the one backoff of the adapters
            if pending:
                raise DependencyUnavailable("DynamoDB kept throttling a schema read; retry later.")
        tables: list[dict[str, Any]] = []
        for index, key in zip(wanted, keys, strict=True):
            chunk = json.loads(gzip.decompress(by_sort_key[key["sk"]["S"]]))
            first = starts[index]
            tables.extend(t for n, t in enumerate(chunk, start=first) if offset <= n < end)
        return tables

    def delete_all(self, tenant_id: str, data_source_id: str) -> None:
        delete_under(
            self._client, self._table, tenant_id, (f"SCHEMA#{data_source_id}#", f"SCHEMACHUNK#{data_source_id}#")
        )

    def _write(self, requests: list[dict[str, Any]]) -> None:
        batch_write(self._client, self._table, requests)


def delete_under(client: DynamoDBClient, table: str, tenant_id: str, prefixes: tuple[str, ...]) -> None:
    """Delete every item of the tenant's partition whose sort key starts with one of `prefixes`."""
    keys: list[dict[str, Any]] = []
    for prefix in prefixes:
        query: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": tenant_pk(tenant_id)}, ":prefix": {"S": prefix}},
            "ProjectionExpression": "pk, sk",
        }
        while True:
            page = client.query(**query)
            keys.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    batch_write(client, table, [{"DeleteRequest": {"Key": key}} for key in keys])


def batch_write(client: DynamoDBClient, table: str, requests: list[dict[str, Any]]) -> None:
    for batch in range(0, len(requests), BATCH_WRITE):
        pending = requests[batch : batch + BATCH_WRITE]
        for attempt in range(8):
            response = client.batch_write_item(RequestItems={table: pending})  # type: ignore[dict-item]
            pending = response.get("UnprocessedItems", {}).get(table, [])  # type: ignore[assignment]
            if not pending:
                break
            pause(attempt)  # throttled: the one backoff of the adapters
        if pending:
            raise DependencyUnavailable("DynamoDB kept throttling a batch write; retry later.")
