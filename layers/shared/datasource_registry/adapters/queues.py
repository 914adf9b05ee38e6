"""The refresh queue in SQS: claimed refresh requests sent with SendMessageBatch, ten at a time, and discovery jobs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from datasource_registry.domain.ports import RefreshRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10  # SendMessageBatch's limit


def request_body(request: RefreshRequest) -> str:
    return json.dumps(
        {"tenantId": request.tenant_id, "dataSourceId": request.data_source_id, "claim": request.claim},
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class JobMessage:
    """A discovery job for the worker (adapters/jobs.SqsJobQueue sends it): which job of which source."""

    tenant_id: str
    data_source_id: str
    job_id: str


def request_from_body(body: str) -> RefreshRequest | JobMessage:
    """The message back into a request; raises ValueError for anything the sweeper or a job request did not send."""
    try:
        data = json.loads(body)
        kind, last = (JobMessage, "job") if isinstance(data, dict) and "job" in data else (RefreshRequest, "claim")
        request = kind(str(data["tenantId"]), str(data["dataSourceId"]), str(data[last]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a refresh request message") from exc
    if not all(vars(request).values()):
        raise ValueError("not a refresh request message")
    return request


class SqsRefreshQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, requests: list[RefreshRequest]) -> int:
        batches = 0
        refused: list[str] = []
        for start in range(0, len(requests), SQS_BATCH):
            chunk = requests[start : start + SQS_BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": request_body(r)} for i, r in enumerate(chunk)],
            )
            batches += 1
            refused += [f"{f['Id']}:{f['Code']}" for f in response.get("Failed", [])]
        if refused:
            # The claims stay leased; when the lease ends a later sweep claims and sends them again.
            raise RuntimeError(f"SQS refused {len(refused)} refresh request(s): {', '.join(refused[:10])}")
        return batches
