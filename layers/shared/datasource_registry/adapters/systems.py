"""Data systems in the data sources table (sk = SYS#<id>), and links written to a system and a source at once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository, new_write_id, tenant_pk
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.ports import StaleVersion
from datasource_registry.domain.revisions import Revision
from datasource_registry.domain.systems import DataSystem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SYSTEM = "SYS#"


class DynamoDbDataSystemRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int | None = None) -> None:
        self._client = client
        self._table = table_name
        self._sources = DynamoDbDataSourceRepository(client, table_name)
        if retention_days is not None:
            self._sources.retention_days = retention_days

    def _key(self, tenant_id: str, system_id: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": SYSTEM + system_id}}

    def _item(self, system: DataSystem) -> dict[str, Any]:
        return {
            **self._key(system.tenant_id, system.id),
            "rowVersion": {"N": str(system.row_version)},
            "doc": {"S": system.model_dump_json(exclude={"row_version"})},
            "writeId": {"S": new_write_id()},  # a repeated conditional put recognises its own write by it
        }

    @staticmethod
    def _from_item(item: dict[str, Any]) -> DataSystem:
        document = json.loads(item["doc"]["S"])
        document["row_version"] = int(item["rowVersion"]["N"])
        return DataSystem.model_validate(document)

    def add(self, system: DataSystem) -> None:
        item = self._item(system)
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        self._sources.put_once(put, StaleVersion(system.id), item["writeId"]["S"])

    def get(self, tenant_id: str, system_id: str) -> DataSystem | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, system_id), ConsistentRead=True
        ).get("Item")
        return self._from_item(item) if item else None

    def list_all(self, tenant_id: str) -> list[DataSystem]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :system)",
            "ExpressionAttributeValues": {":pk": {"S": tenant_pk(tenant_id)}, ":system": {"S": SYSTEM}},
        }
        systems: list[DataSystem] = []
        while True:
            response = self._client.query(**query)
            systems.extend(self._from_item(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return systems
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _guarded_put(self, item: dict[str, Any], expected: int) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "rowVersion = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def replace(self, previous: DataSystem, updated: DataSystem) -> None:
        item = self._item(updated)
        self._sources.put_once(
            self._guarded_put(item, previous.row_version), StaleVersion(previous.id), item["writeId"]["S"]
        )

    def remove(self, system: DataSystem) -> None:
        # A transaction of one, for its ClientRequestToken: a delete sent again after a lost response succeeds.
        self._sources.transact([self._delete(system)], failures=[StaleVersion(system.id)])

    def _delete(self, system: DataSystem) -> TransactWriteItemTypeDef:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": self._key(system.tenant_id, system.id),
                "ConditionExpression": "rowVersion = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(system.row_version)}},
            }
        }

    def remove_unlinking(self, system: DataSystem, sources: list[tuple[DataSource, DataSource, Revision]]) -> None:
        write_id = new_write_id()
        puts = [
            item
            for before, after, revision in sources
            for item in [self._sources.guarded_put(before, after, write_id), *self._sources.history(revision)]
        ]
        stale = StaleVersion(system.id)
        self._sources.transact([self._delete(system), *puts], failures=[stale] * (1 + len(puts)))

    def save_link(self, system: tuple[DataSystem, DataSystem], source: tuple[DataSource, DataSource, Revision]) -> None:
        item = self._item(system[1])
        write_id = item["writeId"]["S"]
        # Either side moved: the service re-reads and retries. A repeat that finds its own writeId succeeded.
        stale = StaleVersion(system[0].id)
        self._sources.transact(
            [
                self._guarded_put(item, system[0].row_version),
                self._sources.guarded_put(source[0], source[1], write_id),
                *self._sources.history(source[2]),
            ],
            failures=[stale, stale, stale, stale],
            write_id=write_id,
        )
