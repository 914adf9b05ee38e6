"""pydantic_list plus Powertools Logger and Metrics around the handler, as every handler of ours has them."""

import json
import os

import botocore.session
import pydantic
from aws_lambda_powertools import Logger, Metrics


class Page(pydantic.BaseModel):
    count: int


logger = Logger()
metrics = Metrics()
TABLE = os.environ["TABLE_NAME"]
dynamodb = botocore.session.get_session().create_client("dynamodb")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event, context):
    tenant = event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"]
    count = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"PLAIN#{tenant}"}, "sk": {"S": "COUNT"}})
    page = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PLAIN#{tenant}"}},
        Limit=25,
    )
    total = Page(count=len(page["Items"])).count
    return {"statusCode": 200, "body": json.dumps({"items": page["Items"], "count": count.get("Item"), "n": total})}
