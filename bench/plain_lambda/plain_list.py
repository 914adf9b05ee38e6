"""A minimal plain-boto3 handler: a list page of 25 (1 GetItem for the count, 1 Query), as ListDataSourcesFunction."""

import json
import os

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    tenant = event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"]
    count = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": "COUNT"}})
    page = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PLAIN#{tenant}"}},
        Limit=25,
    )
    return {"statusCode": 200, "body": json.dumps({"items": page["Items"], "count": count.get("Item")})}
