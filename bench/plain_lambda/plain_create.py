"""A minimal plain-boto3 handler: create a data source (1 CreateSecret, 1 TransactWriteItems), as ours does."""

import json
import os
import uuid

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")


def handler(event, context):
    tenant = event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"]
    body = json.loads(event["body"])
    source_id = uuid.uuid4().hex
    secret = secrets.create_secret(Name=f"plain/{tenant}/{source_id}", SecretString=json.dumps(body["credentials"]))
    item = {"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": f"DS#{source_id}"}, "secret": {"S": secret["ARN"]}}
    marker = {"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": f"KEY#{body['name']}"}}
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": TABLE, "Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    return {"statusCode": 201, "body": json.dumps({"id": source_id})}
