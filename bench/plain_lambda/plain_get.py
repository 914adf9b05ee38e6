"""A minimal plain-boto3 handler: read a data source by key (2 GetItem), as GetDataSourceFunction does."""

import json
import os

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    tenant = event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"]
    key = event["pathParameters"]["id"]
    marker = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": f"KEY#{key}"}})
    record = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": f"DS#{key}"}})
    return {"statusCode": 200, "body": json.dumps([marker.get("Item"), record.get("Item")])}
