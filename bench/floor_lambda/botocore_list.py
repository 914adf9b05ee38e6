"""The plain list handler with botocore's own session (as ours builds clients) instead of boto3: same calls."""

import json
import os

import botocore.session

TABLE = os.environ["TABLE_NAME"]
dynamodb = botocore.session.get_session().create_client("dynamodb")


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
