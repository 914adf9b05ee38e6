"""Data sources in one DynamoDB table: a record per source plus key and name markers that keep them unique."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from datasource_registry.adapters.backoff import transient, until_processed, with_backoff
from datasource_registry.adapters.revisions import DEFAULT_RETENTION_DAYS, access_item, revision_items
from datasource_registry.adapters.stored import document_of, source_of
from datasource_registry.domain.model import DataSource
from datasource_registry.domain.names import name_identity
from datasource_registry.domain.ports import DuplicateIdentity, Page, StaleVersion
from datasource_registry.domain.refresh import due_shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from datasource_registry.domain.revisions import AuditEvent, Revision

# Layout (one partition per tenant, so a tenant's queries never touch another's items):
#   pk = T#<tenant>  sk = DS#<id>     the record; ids sort by creation time, so a Query lists oldest first
#   pk = T#<tenant>  sk = KEY#<key>   marker: the key is taken (and points at the id)
#   pk = T#<tenant>  sk = NAME#<name> marker: the case-folded name is taken
#   pk = T#<tenant>  sk = COUNT       how many sources the tenant has (pagination.total)
#
# Every write of a record is conditional on its `revision` (advanced by every write, the user's and the
# registry's own) and stamps a fresh `writeId`. `rowVersion` is the user's configuration version, which only the
# user's writes advance (the domain decides). When a write's response is lost and the write is sent again, a
# transaction is recognised by its ClientRequestToken; a single conditional write by finding its own writeId on
# the item (ReturnValuesOnConditionCheckFailure=ALL_OLD), so a write that took effect is never answered as lost.
# A configuration write carries its revision and audit line (adapters/revisions.py) in the same transaction.
RECORD = "DS#"
TRANSACTION_ATTEMPTS = 6
BATCH_GET_LIMIT = 100
# Sparse GSI over records that have a type: typeKey = T#<tenant>#<type>, sort key sk (KEYS_ONLY, see template.yaml).
TYPE_INDEX = "ByType"


def type_key(tenant_id: str, type_name: str) -> str:
    return f"T#{tenant_id}#{type_name}"


def tenant_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}"


def name_marker(name: str) -> str:
    return f"NAME#{name_identity(name)}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def new_write_id() -> str:
    """Names one logical write: its ClientRequestToken (DynamoDB: at most 36 characters) or its item's writeId."""
    return str(uuid.uuid4())


def written_by(item: Any, write_id: str) -> bool:
    return bool(item) and item.get("writeId", {}).get("S") == write_id


def guard(source: DataSource) -> dict[str, Any]:
    """The condition that the stored record is still the one `source` was read from."""
    if source.revision:
        return {
            "ConditionExpression": "revision = :revision",
            "ExpressionAttributeValues": {":revision": _n(source.revision)},
        }
    # A record written before revisions existed: its rowVersion was advanced by every write.
    return {
        "ConditionExpression": "attribute_not_exists(revision) AND rowVersion = :rowVersion",
        "ExpressionAttributeValues": {":rowVersion": _n(source.row_version)},
    }


class DynamoDbDataSourceRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._client = client
        self._table = table_name
        self.retention_days = retention_days

    def history(self, revision: Revision | None) -> list[TransactWriteItemTypeDef]:
        """The revision's items for a write's transaction (none for the registry's own writes)."""
        return revision_items(self._table, revision, self.retention_days) if revision is not None else []

    # -- mapping -----------------------------------------------------------------------------------------
    def to_item(self, source: DataSource) -> dict[str, Any]:
        document = document_of(source)  # adapters/stored.py; schedule state and revision are item attributes
        item: dict[str, Any] = {
            "pk": _s(tenant_pk(source.tenant_id)),
            "sk": _s(RECORD + source.id),
            "id": _s(source.id),
            "tenantId": _s(source.tenant_id),
            "key": _s(source.key),
            "name": _s(source.spec.name),
            "rowVersion": _n(source.row_version),
            "revision": _n(source.revision),
            "doc": _s(document),
        }
        item.update(index_attributes(source))
        return item

    @staticmethod
    def from_item(item: dict[str, Any]) -> DataSource:
        identity = {"data_source_id": item["id"]["S"], "tenant_id": item["tenantId"]["S"]}
        # `revision` is written by every stored write; an item from before revisions is guarded on rowVersion.
        return source_of(
            item["doc"]["S"],
            **identity,
            row_version=int(item["rowVersion"]["N"]),
            revision=int(item["revision"]["N"]) if "revision" in item else 0,
            **schedule_state(item),
        )

    def _key(self, tenant_id: str, sort_key: str) -> dict[str, Any]:
        return {"pk": _s(tenant_pk(tenant_id)), "sk": _s(sort_key)}

    # -- reads -------------------------------------------------------------------------------------------
    def get(self, tenant_id: str, data_source_id: str) -> DataSource | None:
        response = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, RECORD + data_source_id), ConsistentRead=True
        )
        item = response.get("Item")
        return self.from_item(item) if item else None

    def find_id_by_key(self, tenant_id: str, key: str) -> str | None:
        response = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, f"KEY#{key}"), ConsistentRead=True
        )
        item = response.get("Item")
        return item["id"]["S"] if item else None

    def list_page(self, tenant_id: str, limit: int, after: str | None) -> Page:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :record)",
            "ExpressionAttributeValues": {":pk": _s(tenant_pk(tenant_id)), ":record": _s(RECORD)},
            "Limit": limit + 1,  # one more than asked tells whether another page exists
        }
        if after:
            query["ExclusiveStartKey"] = self._key(tenant_id, RECORD + after)
        items = self._client.query(**query)["Items"]
        counter = self._client.get_item(TableName=self._table, Key=self._key(tenant_id, "COUNT")).get("Item")
        total = int(counter["n"]["N"]) if counter else 0
        page = [self.from_item(item) for item in items[:limit]]  # the one past the page only says there is more
        return Page(items=page, next_after=page[-1].id if len(items) > limit else None, total=total)

    # -- writes ------------------------------------------------------------------------------------------
    def add(self, source: DataSource, revision: Revision | None = None) -> None:
        pk = tenant_pk(source.tenant_id)
        history = self.history(revision)
        marker = {"pk": _s(pk), "id": _s(source.id)}
        source.revision = 1
        write_id = new_write_id()
        self.transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**self.to_item(source), "writeId": _s(write_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**marker, "sk": _s(f"KEY#{source.key}")},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**marker, "sk": _s(name_marker(source.spec.name))},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._count(pk, +1),
                *history,
            ],
            failures=[
                StaleVersion(source.id),
                DuplicateIdentity("key"),
                DuplicateIdentity("name"),
                None,
                *[StaleVersion(source.id)] * len(history),
            ],
            write_id=write_id,
        )

    def guarded_put(self, previous: DataSource, updated: DataSource, write_id: str) -> TransactWriteItemTypeDef:
        """`updated` over `previous`, if nothing was written in between; the next revision, stamped `write_id`."""
        updated.revision = previous.revision + 1
        return {
            "Put": {
                "TableName": self._table,
                "Item": {**self.to_item(updated), "writeId": _s(write_id)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **guard(previous),  # type: ignore[typeddict-item]
            }
        }

    def replace(self, previous: DataSource, updated: DataSource, revision: Revision | None = None) -> None:
        write_id = new_write_id()
        put = self.guarded_put(previous, updated, write_id)
        history = self.history(revision)
        stale = StaleVersion(previous.id)
        if name_marker(previous.spec.name) == name_marker(updated.spec.name):
            if history:
                self.transact([put, *history], failures=[stale] * (1 + len(history)), write_id=write_id)
            else:
                self.put_once(put, stale, write_id)
            return
        pk = tenant_pk(updated.tenant_id)
        self.transact(
            [
                put,
                *history,
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(previous.tenant_id, name_marker(previous.spec.name)),
                        "ConditionExpression": "id = :id",
                        "ExpressionAttributeValues": {":id": _s(previous.id)},
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": _s(pk),
                            "sk": _s(name_marker(updated.spec.name)),
                            "id": _s(updated.id),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ],
            failures=[stale, *[stale] * len(history), stale, DuplicateIdentity("name")],
            write_id=write_id,
        )

    def remove(self, source: DataSource, revision: Revision | None = None) -> None:
        pk = tenant_pk(source.tenant_id)
        history = self.history(revision)
        self.transact(
            [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(source.tenant_id, RECORD + source.id),
                        **guard(source),  # type: ignore[typeddict-item]
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(source.tenant_id, f"KEY#{source.key}"),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(source.tenant_id, name_marker(source.spec.name)),
                    }
                },
                self._count(pk, -1),
                *history,
            ],
            failures=[StaleVersion(source.id), None, None, None, *[StaleVersion(source.id)] * len(history)],
        )

    def record_access(self, tenant_id: str, event: AuditEvent) -> None:
        write_id = new_write_id()
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._table,
                "Item": access_item(tenant_id, event, self.retention_days, write_id),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        self.put_once(put, StaleVersion(event.data_source_id), write_id)  # a repeat finds its own line: done

    # -- filter reads (002): index ranges and batched gets, never a Scan --------------------------------------
    def get_many(self, tenant_id: str, data_source_ids: list[str]) -> list[DataSource]:
        found: dict[str, DataSource] = {}
        unique = list(dict.fromkeys(data_source_ids))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys = [self._key(tenant_id, RECORD + i) for i in unique[start : start + BATCH_GET_LIMIT]]

            def read(request: dict[str, Any]) -> dict[str, Any]:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    source = self.from_item(item)
                    found[source.id] = source
                return dict(response.get("UnprocessedKeys") or {})

            until_processed(read, {self._table: {"Keys": keys, "ConsistentRead": True}}, what="a batch read")
        return [found[i] for i in data_source_ids if i in found]

    def names_starting_with(self, tenant_id: str, prefix: str) -> list[tuple[str, str]]:
        # The NAME# markers are tiny (pk, sk, id), so even a whole-tenant range is a few pages per 100,000 sources.
        entries: list[tuple[str, str]] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(tenant_pk(tenant_id)), ":prefix": _s(name_marker(prefix))},
            "ProjectionExpression": "sk, id",
        }
        while True:
            response = self._client.query(**query)
            entries.extend((item["sk"]["S"][len("NAME#") :], item["id"]["S"]) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return entries
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def ids_of_type(self, tenant_id: str, type_name: str) -> list[str]:
        ids: list[str] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TYPE_INDEX,
            "KeyConditionExpression": "typeKey = :type",
            "ExpressionAttributeValues": {":type": _s(type_key(tenant_id, type_name))},
        }
        while True:
            response = self._client.query(**query)
            ids.extend(item["sk"]["S"][len(RECORD) :] for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return ids
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _count(self, pk: str, delta: int) -> TransactWriteItemTypeDef:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(pk), "sk": _s("COUNT")},
                "UpdateExpression": "ADD n :delta",
                "ExpressionAttributeValues": {":delta": _n(delta)},
            }
        }

    def put_once(self, put: TransactWriteItemTypeDef, stale: Exception, write_id: str) -> None:
        """One conditional PutItem; a repeat that finds its own writeId on the item is the first one's success."""

        def attempt() -> None:
            try:
                self._client.put_item(**put["Put"])
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                if not written_by(error.response.get("Item"), write_id):
                    raise stale from None

        with_backoff(attempt, what="DynamoDB")

    def transact(
        self, items: list[TransactWriteItemTypeDef], failures: list[Exception | None], write_id: str | None = None
    ) -> None:
        """One all-or-nothing write; a failed condition becomes the domain's exception for that item.

        The ClientRequestToken stays the same while the request is repeated after a lost response (DynamoDB then
        answers success without writing again); a transaction cancelled by a conflict wrote nothing and is sent
        again as a new request. `write_id` is the writeId the first item stamps: if its condition fails because
        that very write already landed (a token past its ten minutes), the write succeeded.
        """
        token = new_write_id() if write_id is None else write_id

        def attempt() -> None:
            nonlocal token
            try:
                self._client.transact_write_items(TransactItems=items, ClientRequestToken=token)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
                codes = [reason.get("Code", "None") for reason in reasons]
                if (
                    write_id
                    and codes
                    and codes[0] == "ConditionalCheckFailed"
                    and written_by(reasons[0].get("Item"), write_id)
                ):
                    return
                for code, failure in zip(codes, failures, strict=False):
                    if code == "ConditionalCheckFailed" and failure is not None:
                        raise failure from None
                if "TransactionConflict" not in codes:
                    raise
                token = new_write_id()
                raise _Conflict from None

        with_backoff(
            attempt,
            what="DynamoDB",
            retry_if=lambda error: isinstance(error, _Conflict) or transient(error),
            attempts=TRANSACTION_ATTEMPTS,
        )


class _Conflict(Exception):
    """Another transaction touched one of the items at the same moment (the tenant's counter, usually)."""


def index_attributes(source: DataSource) -> dict[str, Any]:
    """Attributes that exist only to be indexed; derived from the record on every write so they never drift.

    typeKey = T#<tenant>#<type>           002's filter by databaseTypes (the sparse ByType index)

    The scheduled refresh's state lives here rather than in `doc`, so the sweeper can find and claim a due
    source with one index read and one conditional UpdateItem, without reading the record:
      dueShard = DUE#<n>                 sparse index hash key, present only while a refresh is scheduled
      dueAt    = <utc time>#<tenant>#<id> its range key: due time first, so a Query reads only what is due
      refreshClaim = <token>             the sweep that claimed the due refresh (see domain/refresh_service.py)
    """
    attributes: dict[str, Any] = {}
    if source.spec.type is not None:
        attributes["typeKey"] = _s(type_key(source.tenant_id, source.spec.type.value))
    if source.next_refresh_at is not None:
        attributes["dueShard"] = _s(due_shard_key(due_shard(source.id)))
        attributes["dueAt"] = _s(due_marker(source.next_refresh_at, source.tenant_id, source.id))
    if source.refresh_claim is not None:
        attributes["refreshClaim"] = _s(source.refresh_claim)
    return attributes


def schedule_state(item: dict[str, Any]) -> dict[str, Any]:
    due = item.get("dueAt")
    claim = item.get("refreshClaim")
    return {
        "next_refresh_at": datetime.fromisoformat(due["S"].split("#", 1)[0]) if due else None,
        "refresh_claim": claim["S"] if claim else None,
    }


def due_shard_key(shard: int) -> str:
    return f"DUE#{shard}"


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC time, so string order is time order in the index."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def due_marker(due_at: datetime, tenant_id: str, data_source_id: str) -> str:
    return f"{utc_text(due_at)}#{tenant_id}#{data_source_id}"
