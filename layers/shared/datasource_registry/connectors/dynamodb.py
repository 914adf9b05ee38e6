"""DynamoDB: DescribeTable/ListTables as the test; discovery = tables with key schema and attributes."""

from __future__ import annotations

from typing import Any

from datasource_registry.connectors import aws
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

MAX_TABLES = 1000
_TYPES = {"S": "string", "N": "number", "B": "binary"}


def _client(ctx: Context) -> Any:
    with ctx.stage("resolve"):
        return aws.client(ctx, "dynamodb")


def _schema_name(ctx: Context) -> str:
    return ctx.target.region or str(ctx.target.source_config.get("region") or "") or "us-east-1"


def check(ctx: Context) -> None:
    dynamodb = _client(ctx)
    table_name = ctx.target.source_config.get("table_name")
    with ctx.stage("authenticate", aws.classify):
        if table_name:
            description = dynamodb.describe_table(TableName=str(table_name))["Table"]
            ctx.details.update(table=table_name, status=description.get("TableStatus"))
        else:
            ctx.details["tablesVisible"] = len(dynamodb.list_tables(Limit=10).get("TableNames", []))


def _table(schema: str, description: dict[str, Any]) -> Table:
    keys = [k["AttributeName"] for k in sorted(description.get("KeySchema", []), key=lambda k: k["KeyType"])]
    attributes = sorted(
        description.get("AttributeDefinitions", []),
        key=lambda a: (
            a["AttributeName"] not in keys,
            keys.index(a["AttributeName"]) if a["AttributeName"] in keys else 0,
            a["AttributeName"],
        ),
    )
    columns = [
        Column(
            a["AttributeName"],
            _TYPES.get(a["AttributeType"], a["AttributeType"]),
            a["AttributeName"] not in keys,
            None,
            i,
        )
        for i, a in enumerate(attributes, start=1)
    ]
    return Table(schema, description["TableName"], "table", columns, keys, description.get("ItemCount"))


def discover(ctx: Context) -> DiscoveredSchema:
    dynamodb = _client(ctx)
    schema = _schema_name(ctx)
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    with ctx.stage("metadata", aws.classify):
        wanted = ctx.target.source_config.get("table_name")
        if wanted:
            table_names = [str(wanted)]
        else:
            table_names = []
            for page in dynamodb.get_paginator("list_tables").paginate(PaginationConfig={"MaxItems": MAX_TABLES}):
                table_names.extend(page.get("TableNames", []))
        # Filter before DescribeTable: DynamoDB has no set-based catalog, so each kept table costs one call.
        tables = [
            _table(schema, dynamodb.describe_table(TableName=name)["Table"])
            for name in table_names
            if names(f"{schema}.{name}")
        ]
    return DiscoveredSchema(tables)
