"""The "refresh due" index in DynamoDB: query a shard for what is due, claim an entry with a conditional write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from datasource_registry.adapters.dynamodb import RECORD, due_marker, due_shard_key, tenant_pk, utc_text
from datasource_registry.domain.ports import DueRefresh

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUE_INDEX = "RefreshDue"  # template.yaml's GlobalSecondaryIndex on the data sources table


class DynamoDbRefreshSchedule:
    def __init__(self, client: DynamoDBClient, table_name: str, index_name: str = DUE_INDEX) -> None:
        self._client = client
        self._table = table_name
        self._index = index_name
        self.items_read = 0  # index items the queries returned, for the benchmark and the logs

    def due(self, shard: int, now: datetime) -> Iterator[DueRefresh]:
        # `dueAt < (now + 1 µs)` keeps every entry due at `now` and stops at the first one that is not due.
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "dueShard = :shard AND dueAt < :bound",
            "ExpressionAttributeValues": {
                ":shard": {"S": due_shard_key(shard)},
                ":bound": {"S": utc_text(now + timedelta(microseconds=1))},
            },
        }
        while True:
            response = self._client.query(**query)
            self.items_read += int(response.get("ScannedCount", len(response["Items"])))
            for item in response["Items"]:
                marker = item["dueAt"]["S"]
                moment, tenant_id, data_source_id = marker.split("#", 2)
                yield DueRefresh(tenant_id, data_source_id, datetime.fromisoformat(moment), marker)
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim(self, due: DueRefresh, lease_until: datetime, token: str) -> bool:
        # The condition on the exact marker read makes the claim run once: an overlapping sweep, a user's
        # reschedule or a finished refresh all change dueAt, and the losing writer's condition fails.
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(due.tenant_id)}, "sk": {"S": RECORD + due.data_source_id}},
                UpdateExpression="SET dueAt = :lease, refreshClaim = :token ADD revision :one",
                ConditionExpression="dueAt = :seen",
                ExpressionAttributeValues={
                    ":lease": {"S": due_marker(lease_until, due.tenant_id, due.data_source_id)},
                    ":token": {"S": token},
                    ":one": {"N": "1"},
                    ":seen": {"S": due.marker},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                # A repeat of this very claim (its response was lost) finds its own token: the claim is ours.
                mine: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
                return bool(mine.get("refreshClaim", {}).get("S") == token)
            raise
        return True
