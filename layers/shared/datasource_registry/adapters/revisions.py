"""Revisions and audit events in the data sources table: the items a configuration write adds, and their reads.

Layout, in the tenant's partition (so another tenant's query can never reach them):
  sk = REV#<source id>#<n, 10 digits>            the revision (immutable: written with attribute_not_exists)
  sk = AUDIT#<utc time>#<source id>#<n, 10 digits> its line in the tenant's audit trail (names only, no values)
Both carry `expiresAt` (epoch seconds), the table's TTL attribute: retention is RevisionRetentionDays in
template.yaml. They live apart from the record (DS#), so deleting a source leaves its history for the retention.
The configuration and changes are gzip'd JSON (a binary attribute): a configuration near DynamoDB's item limit
still fits beside the record in the one transaction.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from datasource_registry.domain.revisions import (
    AuditEvent,
    AuditPage,
    Change,
    Revision,
    RevisionPage,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

REVISION = "REV#"
AUDIT = "AUDIT#"
TTL_ATTRIBUTE = "expiresAt"  # template.yaml: DataSourcesTable TimeToLiveSpecification
DEFAULT_RETENTION_DAYS = 365
MAX_BODY_BYTES = 300 * 1024  # leaves room in the 400 KB item for the other attributes


def revision_key(data_source_id: str, number: int) -> str:
    return f"{REVISION}{data_source_id}#{number:010d}"


def audit_key(at: datetime, data_source_id: str, number: int) -> str:
    return f"{AUDIT}{_utc(at)}#{data_source_id}#{number:010d}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(revision: Revision) -> bytes:
    document: dict[str, Any] = {
        "configuration": revision.configuration,
        "changes": [change.to_json() for change in revision.changes],
    }
    body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    if len(body) > MAX_BODY_BYTES:
        # Before and after of a huge document would not fit: the names of the changed fields still do.
        document["changes"] = [
            {"field": c.field, "credential": c.credential} if c.credential else {"field": c.field, "omitted": True}
            for c in revision.changes
        ]
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    if len(body) > MAX_BODY_BYTES:
        # Only a near-400 KB configuration of incompressible text gets here: its revision keeps names only.
        document["configuration"] = {}
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    return body


def revision_items(table: str, revision: Revision, retention_days: int) -> list[TransactWriteItemTypeDef]:
    """The revision and its audit line, each written once (a repeat of the same write finds it and fails)."""
    pk = {"S": f"T#{revision.tenant_id}"}
    expires = {"N": str(int((revision.at + timedelta(days=retention_days)).timestamp()))}
    common: dict[str, Any] = {
        "pk": pk,
        "dataSourceId": {"S": revision.data_source_id},
        "number": {"N": str(revision.number)},
        "action": {"S": revision.action},
        "actor": {"S": revision.actor},
        "at": {"S": _utc(revision.at)},
        TTL_ATTRIBUTE: expires,
    }
    if revision.request_id:
        common["requestId"] = {"S": revision.request_id}
    item: dict[str, Any] = {
        **common,
        "sk": {"S": revision_key(revision.data_source_id, revision.number)},
        "body": {"B": _body(revision)},
        "secretChanges": {"S": json.dumps(revision.secret_changes, separators=(",", ":"))},
    }
    if revision.secret_arn and revision.secret_version:
        item["secretArn"] = {"S": revision.secret_arn}
        item["secretVersion"] = {"S": revision.secret_version}
    if revision.restored_from is not None:
        item["restoredFrom"] = {"N": str(revision.restored_from)}
    fields = [change.describe() for change in revision.changes]
    audit: dict[str, Any] = {
        **common,
        "sk": {"S": audit_key(revision.at, revision.data_source_id, revision.number)},
        "fields": {"S": json.dumps(fields, separators=(",", ":"))},
    }
    return [
        {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": table, "Item": audit, "ConditionExpression": "attribute_not_exists(pk)"}},
    ]


def access_item(tenant_id: str, event: AuditEvent, retention_days: int, write_id: str) -> dict[str, Any]:
    """An audit line that records no change (a secret read): its own key, stamped with the write that made it."""
    item: dict[str, Any] = {
        "pk": {"S": f"T#{tenant_id}"},
        "sk": {"S": f"{audit_key(event.at, event.data_source_id, event.revision)}#r{uuid.uuid4().hex[:8]}"},
        "dataSourceId": {"S": event.data_source_id},
        "number": {"N": str(event.revision)},
        "action": {"S": event.action},
        "actor": {"S": event.actor},
        "at": {"S": _utc(event.at)},
        "fields": {"S": json.dumps(event.fields, separators=(",", ":"))},
        "writeId": {"S": write_id},
        TTL_ATTRIBUTE: {"N": str(int((event.at + timedelta(days=retention_days)).timestamp()))},
    }
    if event.request_id:
        item["requestId"] = {"S": event.request_id}
    return item


def revision_from_item(tenant_id: str, item: dict[str, Any]) -> Revision:
    document = json.loads(gzip.decompress(item["body"]["B"]))
    return Revision(
        tenant_id=tenant_id,
        data_source_id=item["dataSourceId"]["S"],
        number=int(item["number"]["N"]),
        action=item["action"]["S"],
        actor=item["actor"]["S"],
        request_id=item["requestId"]["S"] if "requestId" in item else None,
        at=datetime.fromisoformat(item["at"]["S"]),
        configuration=document["configuration"],
        changes=tuple(Change.from_json(change) for change in document["changes"]),
        secret_arn=item["secretArn"]["S"] if "secretArn" in item else None,
        secret_version=item["secretVersion"]["S"] if "secretVersion" in item else None,
        restored_from=int(item["restoredFrom"]["N"]) if "restoredFrom" in item else None,
    )


class DynamoDbRevisionStore:
    """Reads revisions and audit lines; every query is bounded to the caller's tenant partition."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _pk(self, tenant_id: str) -> dict[str, str]:
        return {"S": f"T#{tenant_id}"}

    def page(self, tenant_id: str, data_source_id: str, limit: int, before: int | None) -> RevisionPage:
        upper = revision_key(data_source_id, before - 1) if before is not None else f"{REVISION}{data_source_id}#~"
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": self._pk(tenant_id),
                ":low": {"S": revision_key(data_source_id, 0)},
                ":high": {"S": upper},
            },
            ScanIndexForward=False,
            Limit=limit + 1,
            ConsistentRead=True,
        )
        items = [revision_from_item(tenant_id, item) for item in response["Items"]]
        page = items[:limit]
        return RevisionPage(page, page[-1].number if len(items) > limit else None)

    def get(self, tenant_id: str, data_source_id: str, number: int) -> Revision | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": self._pk(tenant_id), "sk": {"S": revision_key(data_source_id, number)}},
            ConsistentRead=True,
        ).get("Item")
        return revision_from_item(tenant_id, item) if item else None

    def secret_changes(self, tenant_id: str, data_source_id: str, after: int, upto: int) -> list[dict[str, str]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": self._pk(tenant_id),
                ":low": {"S": revision_key(data_source_id, after + 1)},
                ":high": {"S": revision_key(data_source_id, upto)},
            },
            "ProjectionExpression": "secretChanges",
            "ConsistentRead": True,
        }
        found: list[dict[str, str]] = []
        while True:
            response = self._client.query(**query)
            found += [json.loads(item["secretChanges"]["S"]) for item in response["Items"] if "secretChanges" in item]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def audit(self, tenant_id: str, since: datetime | None, after: str | None, limit: int) -> AuditPage:
        low = f"{AUDIT}{_utc(since)}" if since is not None else AUDIT
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": self._pk(tenant_id), ":low": {"S": low}, ":high": {"S": f"{AUDIT}~"}},
            "Limit": limit + 1,
        }
        if after is not None and f"{AUDIT}{after}" >= low:
            # DynamoDB refuses a start key outside the condition: a cursor from before `since` starts at `since`.
            query["ExclusiveStartKey"] = {"pk": self._pk(tenant_id), "sk": {"S": f"{AUDIT}{after}"}}
        items = self._client.query(**query)["Items"]
        events = [
            AuditEvent(
                at=datetime.fromisoformat(item["at"]["S"]),
                actor=item["actor"]["S"],
                request_id=item["requestId"]["S"] if "requestId" in item else None,
                action=item["action"]["S"],
                data_source_id=item["dataSourceId"]["S"],
                revision=int(item["number"]["N"]),
                fields=json.loads(item["fields"]["S"]),
                position=item["sk"]["S"].removeprefix(AUDIT),
            )
            for item in items
        ]
        page = events[:limit]
        return AuditPage(page, page[-1].position if len(events) > limit else None)
