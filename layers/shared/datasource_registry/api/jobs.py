"""Discovery jobs as the canonical API shows them (POST .../discover-schema, GET .../discoveries[/{jobId}])."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.api.schemas import DiscoveryView
from datasource_registry.domain.jobs import DiscoveryJob

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class JobProgress(BaseModel):
    model_config = _CAMEL
    tables_done: Annotated[int | None, Field(description="Tables stored so far.")]
    tables_total: Annotated[int | None, Field(description="Tables the connector listed (known once it has).")]


class JobError(BaseModel):
    code: Annotated[str, Field(description="A stable code: the connector's (UNREACHABLE, TIMEOUT ...) or ABANDONED.")]
    message: str


class DiscoveryJobView(BaseModel):
    model_config = _CAMEL
    id: str
    data_source_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_by: str
    request_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: Annotated[int, Field(description="Runs started (a worker that died is taken over by a later one).")]
    progress: JobProgress
    result: Annotated[DiscoveryView | None, Field(description="What the discovery found (the 200 answer's body).")]
    error: JobError | None
    links: dict[str, str]


class DiscoveryJobPage(BaseModel):
    model_config = _CAMEL
    items: list[DiscoveryJobView]
    next_cursor: str | None


def job_location(job: DiscoveryJob) -> str:
    return f"/api/v1/data-sources/{job.data_source_id}/discoveries/{job.id}"


def job_view(job: DiscoveryJob) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": job.id,
        "dataSourceId": job.data_source_id,
        "status": job.status.value,
        "requestedBy": job.requested_by,
        "requestId": job.request_id,
        "createdAt": when(job.created_at),
        "startedAt": when(job.started_at),
        "finishedAt": when(job.finished_at),
        "attempts": job.attempts,
        "progress": {"tablesDone": job.tables_done, "tablesTotal": job.tables_total},
        "result": job.result,
        "error": job.error,
        "links": {
            "self": job_location(job),
            "schema": f"/api/v1/data-sources/{job.data_source_id}/schema",
        },
    }
