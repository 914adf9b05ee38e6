"""Data systems in the data sources table (sk = SYS#<id>), and links written to a system and a source at once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository, tenant_pk
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.ports import StaleVersion
from datasource_registry.domain.systems import DataSystem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SYSTEM = "SYS#"


class DynamoDbDataSystemRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._sources = DynamoDbDataSourceRepository(client, table_name)

    def _key(self, tenant_id: str, system_id: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": SYSTEM + system_id}}

    def _item(self, system: DataSystem) -> dict[str, Any]:
        return {
            **self._key(system.tenant_id, system.id),
            "rowVersion": {"N": str(system.row_version)},
            "doc": {"S": system.model_dump_json(exclude={"row_version"})},
        }

    @staticmethod
    def _from_item(item: dict[str, Any]) -> DataSystem:
        document = json.loads(item["doc"]["S"])
        document["row_version"] = int(item["rowVersion"]["N"])
        return DataSystem.model_validate(document)

    def add(self, system: DataSystem) -> None:
        self._client.put_item(
            TableName=self._table, Item=self._item(system), ConditionExpression="attribute_not_exists(pk)"
        )

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
            }
        }

    def replace(self, previous: DataSystem, updated: DataSystem) -> None:
        try:
            self._client.put_item(**self._guarded_put(self._item(updated), previous.row_version)["Put"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleVersion(previous.id) from None
            raise

    def remove(self, system: DataSystem) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(system.tenant_id, system.id),
                ConditionExpression="rowVersion = :expected",
                ExpressionAttributeValues={":expected": {"N": str(system.row_version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleVersion(system.id) from None
            raise

    def remove_unlinking(self, system: DataSystem, sources: list[tuple[DataSource, DataSource]]) -> None:
        delete: TransactWriteItemTypeDef = {
            "Delete": {
                "TableName": self._table,
                "Key": self._key(system.tenant_id, system.id),
                "ConditionExpression": "rowVersion = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(system.row_version)}},
            }
        }
        puts = [self._guarded_put(self._sources.to_item(after), before.row_version) for before, after in sources]
        try:
            self._client.transact_write_items(TransactItems=[delete, *puts])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleVersion(system.id) from None
            raise

    def save_link(self, system: tuple[DataSystem, DataSystem], source: tuple[DataSource, DataSource]) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=[
                    self._guarded_put(self._item(system[1]), system[0].row_version),
                    self._guarded_put(self._sources.to_item(source[1]), source[0].row_version),
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleVersion(system[0].id) from None  # either side moved; the service re-reads and retries
            raise
