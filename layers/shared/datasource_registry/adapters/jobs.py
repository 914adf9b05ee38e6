"""Discovery jobs in the data sources table: one lock item per source (who runs now), one item per job (what happened).

Items live in the tenant's partition: `JOBLOCK#<source id>` names the job that holds the source's discovery, with a
lease; `JOB#<source id>#<job id>` is the job (job ids sort by time, so a Query in reverse lists the newest first).
Job items expire through the table's TTL attribute `expiresAt`. Every change is a conditional write.
"""

from __future__ import annotations

import base64
import json
import secrets as random_tokens
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from datasource_registry.adapters.dynamodb import tenant_pk, utc_text
from datasource_registry.adapters.snapshots import delete_under
from datasource_registry.domain.errors import DependencyUnavailable, FieldError, ValidationFailed
from datasource_registry.domain.ids import looks_like_job_id
from datasource_registry.domain.jobs import FINISHED, DiscoveryJob, JobPage, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

TTL_ATTRIBUTE = "expiresAt"


def _lock_sk(data_source_id: str) -> str:
    return f"JOBLOCK#{data_source_id}"


def _job_sk(data_source_id: str, job_id: str) -> str:
    return f"JOB#{data_source_id}#{job_id}"


def _failed_condition(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _time(item: dict[str, Any], name: str) -> datetime | None:
    return datetime.fromisoformat(item[name]["S"]) if name in item else None


def job_from_item(item: dict[str, Any]) -> DiscoveryJob:
    _, data_source_id, job_id = item["sk"]["S"].split("#", 2)
    return DiscoveryJob(
        tenant_id=item["tenantId"]["S"],
        data_source_id=data_source_id,
        id=job_id,
        status=JobStatus(item["status"]["S"]),
        requested_by=item["requestedBy"]["S"],
        request_id=item["requestId"]["S"] if "requestId" in item else None,
        created_at=datetime.fromisoformat(item["createdAt"]["S"]),
        lease_until=datetime.fromisoformat(item["leaseUntil"]["S"]),
        started_at=_time(item, "startedAt"),
        finished_at=_time(item, "finishedAt"),
        attempts=int(item.get("attempts", {"N": "0"})["N"]),
        tables_done=int(item["tablesDone"]["N"]) if "tablesDone" in item else None,
        tables_total=int(item["tablesTotal"]["N"]) if "tablesTotal" in item else None,
        result=json.loads(item["result"]["S"]) if "result" in item else None,
        error=json.loads(item["error"]["S"]) if "error" in item else None,
        expires_at=datetime.fromtimestamp(int(item[TTL_ATTRIBUTE]["N"]), UTC) if TTL_ATTRIBUTE in item else None,
    )


def job_item(job: DiscoveryJob) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": tenant_pk(job.tenant_id)},
        "sk": {"S": _job_sk(job.data_source_id, job.id)},
        "tenantId": {"S": job.tenant_id},
        "status": {"S": job.status.value},
        "requestedBy": {"S": job.requested_by},
        "createdAt": {"S": utc_text(job.created_at)},
        "leaseUntil": {"S": utc_text(job.lease_until)},
        "attempts": {"N": str(job.attempts)},
    }
    if job.request_id:
        item["requestId"] = {"S": job.request_id}
    if job.expires_at:
        item[TTL_ATTRIBUTE] = {"N": str(int(job.expires_at.timestamp()))}
    return item


class DynamoDbJobStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, tenant_id: str, sort_key: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": sort_key}}

    # -- the lock ------------------------------------------------------------------------------------------------
    def begin(self, job: DiscoveryJob, now: datetime) -> DiscoveryJob:
        for _ in range(3):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **self._key(job.tenant_id, _lock_sk(job.data_source_id)),
                        "job": {"S": job.id},
                        "leaseUntil": {"S": utc_text(job.lease_until)},
                    },
                    # Free, run out, or already ours (a repeat of this very call whose answer was lost).
                    ConditionExpression="attribute_not_exists(sk) OR leaseUntil < :now OR job = :job",
                    ExpressionAttributeValues={":now": {"S": utc_text(now)}, ":job": {"S": job.id}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as error:
                if not _failed_condition(error):
                    raise
                held: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
                holder_id = held.get("job", {}).get("S", "")
                holder = self.get(job.tenant_id, job.data_source_id, str(holder_id))
                if holder is not None and holder.status not in FINISHED:
                    return holder  # join the job that runs
                self._release(job.tenant_id, job.data_source_id, str(holder_id))  # a lock its finished job left
                continue
            try:
                self._client.put_item(
                    TableName=self._table, Item=job_item(job), ConditionExpression="attribute_not_exists(sk)"
                )
            except ClientError as error:
                if not _failed_condition(error):
                    raise  # else: a repeat of this very call stored it already
            return job
        # Three races in a row: a defined answer (503, retry), never an unexpected error.
        raise DependencyUnavailable("The source's discovery lock kept changing; retry the request.")

    def _release(self, tenant_id: str, data_source_id: str, job_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(tenant_id, _lock_sk(data_source_id)),
                ConditionExpression="job = :job",
                ExpressionAttributeValues={":job": {"S": job_id}},
            )
        except ClientError as error:
            if not _failed_condition(error):
                raise  # else: another job holds it now, or it is gone already

    def _holds_lock(self, job: DiscoveryJob, lease_until: datetime) -> bool:
        """Renew the lock's lease for `job`, only if the job still holds it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(job.tenant_id, _lock_sk(job.data_source_id)),
                UpdateExpression="SET leaseUntil = :lease",
                ConditionExpression="job = :job",
                ExpressionAttributeValues={":job": {"S": job.id}, ":lease": {"S": utc_text(lease_until)}},
            )
        except ClientError as error:
            if _failed_condition(error):
                return False
            raise
        return True

    # -- jobs ------------------------------------------------------------------------------------------------
    def get(self, tenant_id: str, data_source_id: str, job_id: str) -> DiscoveryJob | None:
        if not looks_like_job_id(job_id):
            return None
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, _job_sk(data_source_id, job_id)), ConsistentRead=True
        ).get("Item")
        return job_from_item(item) if item else None

    def list(self, tenant_id: str, data_source_id: str, limit: int, cursor: str | None) -> JobPage:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": tenant_pk(tenant_id)},
                ":prefix": {"S": f"JOB#{data_source_id}#"},
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            after = _decode_cursor(cursor)
            query["ExclusiveStartKey"] = self._key(tenant_id, _job_sk(data_source_id, after))
        response = self._client.query(**query)
        jobs = [job_from_item(item) for item in response["Items"]]
        more = "LastEvaluatedKey" in response and jobs
        return JobPage(jobs, _encode_cursor(jobs[-1].id) if more else None)

    def start(self, job: DiscoveryJob, now: datetime, lease_until: datetime) -> DiscoveryJob | None:
        token = random_tokens.token_hex(8)  # tells this start from any other, should its answer be lost
        if not self._holds_lock(job, lease_until):
            if job.status not in FINISHED:
                error = {"code": "SUPERSEDED", "message": "a newer discovery of this source took over"}
                self._set(
                    job, {"status": JobStatus.FAILED.value, "finishedAt": utc_text(now), "error": json.dumps(error)}
                )
            return None
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(job.tenant_id, _job_sk(job.data_source_id, job.id)),
                UpdateExpression=(
                    "SET #status = :running, startedAt = :now, leaseUntil = :lease, runToken = :token ADD attempts :one"
                ),
                ConditionExpression="#status = :queued OR (#status = :running AND leaseUntil < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": {"S": JobStatus.RUNNING.value},
                    ":queued": {"S": JobStatus.QUEUED.value},
                    ":now": {"S": utc_text(now)},
                    ":lease": {"S": utc_text(lease_until)},
                    ":one": {"N": "1"},
                    ":token": {"S": token},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _failed_condition(error):
                raise
            seen: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
            if seen.get("runToken", {}).get("S") == token:
                return job_from_item(seen)  # a repeat of this very start, whose answer was lost: it is ours
            return None  # another delivery runs it (its lease holds), or it finished
        return job_from_item(response["Attributes"])

    def requeue(self, job: DiscoveryJob, lease_until: datetime) -> DiscoveryJob:
        self._holds_lock(job, lease_until)
        self._set(job, {"status": JobStatus.QUEUED.value, "leaseUntil": utc_text(lease_until)})
        return replace(job, status=JobStatus.QUEUED, lease_until=lease_until)

    def progress(self, job: DiscoveryJob, done: int, total: int | None) -> None:
        values: dict[str, Any] = {"tablesDone": done}
        if total is not None:
            values["tablesTotal"] = total
        self._set(job, values)

    def finish(
        self, job: DiscoveryJob, now: datetime, *, result: dict[str, Any] | None, error: dict[str, str] | None
    ) -> DiscoveryJob:
        status = JobStatus.SUCCEEDED if error is None else JobStatus.FAILED
        values: dict[str, Any] = {"status": status.value, "finishedAt": utc_text(now)}
        if result is not None:
            values["result"] = json.dumps(result, separators=(",", ":"))
        if error is not None:
            values["error"] = json.dumps(error, separators=(",", ":"))
        self._set(job, values)
        self._release(job.tenant_id, job.data_source_id, job.id)
        return replace(job, status=status, finished_at=now, result=result, error=error)

    def delete_all(self, tenant_id: str, data_source_id: str) -> None:
        """A deleted source's jobs and lock go with it (the cascade of DataSourceService.delete)."""
        delete_under(self._client, self._table, tenant_id, (f"JOB#{data_source_id}#", _lock_sk(data_source_id)))

    def _set(self, job: DiscoveryJob, values: dict[str, Any]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        attribute_values = {
            f":v{i}": {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
            for i, value in enumerate(values.values())
        }
        self._client.update_item(
            TableName=self._table,
            Key=self._key(job.tenant_id, _job_sk(job.data_source_id, job.id)),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
            ConditionExpression="attribute_exists(sk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
        )


def _encode_cursor(job_id: str) -> str:
    return base64.urlsafe_b64encode(job_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        job_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        job_id = ""
    if not looks_like_job_id(job_id):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this list returned")])
    return job_id


class SqsJobQueue:
    """Jobs go on the schema refresh queue, to the same worker: a message naming the job, nothing else."""

    def __init__(self, client: SQSClient, queue_url: Callable[[], str]) -> None:
        self._client = client
        self._queue_url = queue_url  # read when a job is sent: the worker, which never sends one, has no queue URL

    def send_job(self, job: DiscoveryJob) -> None:
        body = {"tenantId": job.tenant_id, "dataSourceId": job.data_source_id, "job": job.id}
        self._client.send_message(QueueUrl=self._queue_url(), MessageBody=json.dumps(body, separators=(",", ":")))
