"""The RiverGen dialect (001) under /rivergen/api/v1/data-sources: snake_case, `{"success", "data", "message"}`, codes.

A thin dialect like 000's and 002's: the same domain, table and rules; a source created here is visible everywhere.
Ids are the registry's own (`ds_...`, strings): 001 shows integers, which no other dialect could keep stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.api.canonical import encode_cursor
from datasource_registry.api.canonical_writes import (
    CreateDataSourceRequest,
    DataSourceChanges,
    change_request,
    parse_create,
)
from datasource_registry.api.problems import Problem, ProblemField
from datasource_registry.domain.credentials import shown_texts
from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.model import Credentials, DataSource
from datasource_registry.domain.ports import Page
from datasource_registry.domain.rules import HEALTHY, health_of
from datasource_registry.domain.types import DataSourceType

# 001's error codes by status; the statuses 001 does not list get codes in the same style.
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    428: "PRECONDITION_REQUIRED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
FAILING = "500"  # 000's health code of a source whose last test failed


class ErrorDetail(BaseModel):
    code: Annotated[str, Field(description="001's error code: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, CONFLICT ...")]
    message: str
    details: Annotated[
        list[ProblemField] | None, Field(default=None, description="Field-level reasons: {field, reason}.")
    ]
    current: Annotated[dict[str, Any] | None, Field(default=None, description="The source as it is now (409).")]
    error_code: Annotated[str | None, Field(default=None, description="Why a discovery failed (422).")]


class RiverGenProblem(Problem):
    """001's error answer: the problem JSON (type, title, status, detail, errors) with 001's members added."""

    success: Annotated[bool, Field(description="Always false.")]
    message: str
    error: ErrorDetail


class RiverGenDataSourceView(BaseModel):
    """A data source in 001's response form (snake_case, as 001's create response shows it). Never a secret."""

    id: Annotated[str, Field(description="The registry's id (`ds_...`): a string, not 001's integer.")]
    organization_id: Annotated[str, Field(description="The caller's organisation (the token's tenant).")]
    workspace_id: int | None
    name: str
    type: str | None
    description: str
    host: str | None
    port: int | None
    database_name: str | None
    schema_name: str | None
    file_path: str | None
    use_ssh_tunnel: bool
    ssh_host: str | None
    ssh_port: int | None
    ssh_username: str | None
    ssh_key_id: Annotated[str | None, Field(description="Always null: SSH keys are credentials, never shown.")]
    ssh_local_port: int | None
    connection_pool_size: int
    connection_timeout: int
    query_timeout: int
    max_retries: int
    status: Annotated[
        str, Field(description="active (last test passed), error (last test failed) or inactive (not tested).")
    ]
    last_tested_at: datetime | None
    last_successful_connection_at: datetime | None
    last_failed_connection_at: datetime | None
    failure_count: int
    failure_reason: str | None
    schema_discovered_at: datetime | None
    schema_auto_refresh: bool
    schema_refresh_interval: int
    metadata: dict[str, Any]
    tags: list[str]
    created_by_user_id: str
    created_at: datetime
    updated_at: datetime
    updated_by_user_id: str | None


class _Answer(BaseModel):
    success: Annotated[bool, Field(description="Always true.")]
    message: str


class RiverGenDataSourceAnswer(_Answer):
    """001's answer holding one data source."""

    data: RiverGenDataSourceView


class RiverGenPagination(BaseModel):
    total: int
    limit: int
    has_more: bool
    next_cursor: Annotated[str | None, Field(description="Send as `cursor` for the next page; null on the last.")]


class RiverGenPageAnswer(_Answer):
    """001's list answer: a page of data sources."""

    data: list[RiverGenDataSourceView]
    pagination: RiverGenPagination


class RiverGenDeletedAnswer(_Answer):
    """001's delete answer (`data` is null)."""

    data: None


class RiverGenResultAnswer(_Answer):
    """001's answer to a test or a discovery: the canonical API's result, its members in snake_case."""

    data: Annotated[dict[str, Any], Field(description="The canonical answer with snake_case member names.")]


def status_of(source: DataSource) -> str:
    health = health_of(source)
    if health.code == HEALTHY.code:
        return "active"
    return "error" if health.code == FAILING else "inactive"


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def rivergen_view(source: DataSource) -> dict[str, Any]:
    spec = source.spec
    data: dict[str, Any] = {
        "id": source.id,
        "organization_id": source.tenant_id,
        "workspace_id": spec.workspace_id,
        "name": spec.name,
        "type": spec.type.value if spec.type else None,
        "description": spec.description,
        "host": spec.host,
        "port": spec.port,
        "database_name": spec.database_name,
        "schema_name": spec.schema_name,
        "file_path": spec.file_path,
        "use_ssh_tunnel": spec.use_ssh_tunnel,
        "ssh_host": spec.ssh_host,
        "ssh_port": spec.ssh_port,
        "ssh_username": spec.ssh_username,
        "ssh_key_id": None,
        "ssh_local_port": spec.ssh_local_port,
        "connection_pool_size": spec.connection_pool_size,
        "connection_timeout": spec.connection_timeout,
        "query_timeout": spec.query_timeout,
        "max_retries": spec.max_retries,
        "status": status_of(source),
        "last_tested_at": _time(source.last_tested_at),
        "last_successful_connection_at": _time(source.last_successful_connection_at),
        "last_failed_connection_at": _time(source.last_failed_connection_at),
        "failure_count": source.failure_count,
        "failure_reason": source.failure_reason,
        "schema_discovered_at": _time(source.schema_discovered_at),
        "schema_auto_refresh": spec.schema_auto_refresh,
        "schema_refresh_interval": spec.schema_refresh_interval,
        "metadata": shown_texts(source)["metadata"],
        "tags": list(spec.tags),
        "created_by_user_id": source.created_by,
        "created_at": _time(source.created_at),
        "updated_at": _time(source.updated_at),
        "updated_by_user_id": source.updated_by,
    }
    return RiverGenDataSourceView.model_validate(data).model_dump(mode="json")


def envelope(data: Any, message: str) -> dict[str, Any]:
    return {"success": True, "data": data, "message": message}


def page_envelope(page: Page, limit: int) -> dict[str, Any]:
    cursor = encode_cursor(page.next_after) if page.next_after else None
    return {
        **envelope([rivergen_view(item) for item in page.items], "Data sources retrieved successfully"),
        "pagination": {"total": page.total, "limit": limit, "has_more": cursor is not None, "next_cursor": cursor},
    }


def error_body(status: int, problem: dict[str, Any]) -> dict[str, Any]:
    """The problem JSON with 001's members added: `success: false`, `message`, `error: {code, message, details}`.

    A 001 client reads `success`, `message` and `error.code`; a problem-aware one reads RFC 9457's members.
    """
    error: dict[str, Any] = {"code": CODES.get(status, "BAD_REQUEST"), "message": problem["detail"]}
    if "errors" in problem:
        error["details"] = problem["errors"]
    if "current" in problem:
        error["current"] = problem["current"]
    if "errorCode" in problem:
        error["error_code"] = problem["errorCode"]
    return {**problem, "success": False, "message": problem["detail"], "error": error}


def _snake_then_camel(name: str) -> AliasChoices:
    return AliasChoices(name, to_camel(name))


# 001's clients write snake_case, so its bodies are documented so; camelCase is accepted as on the canonical API.
_SNAKE_CASE_FIRST = ConfigDict(
    alias_generator=AliasGenerator(validation_alias=_snake_then_camel, serialization_alias=to_camel)
)


class RiverGenCredentials(Credentials):
    """001's DataSourceCredentials. Write-only: never returned."""

    model_config = _SNAKE_CASE_FIRST


class RiverGenChanges(DataSourceChanges):
    """001's update body: the fields to change, in snake_case; only given fields change."""

    model_config = _SNAKE_CASE_FIRST
    credentials: Annotated[
        RiverGenCredentials | None,
        Field(default=None, description="Values to set; a null value removes one; null here removes all."),
    ]


class RiverGenCreateRequest(CreateDataSourceRequest):
    """001's create body: `type` and `credentials` are required (001's table says so); the rest as canonical."""

    model_config = _SNAKE_CASE_FIRST
    type: Annotated[DataSourceType, Field(description="Data source type (001's DataSourceTypeEnum).")]
    credentials: Annotated[
        RiverGenCredentials, Field(description="Connection credentials; write-only, never returned.")
    ]


def create_body(body: Any) -> RiverGenCreateRequest:
    """The 001 create body, parsed; a missing `type` or `credentials` is named before anything else is checked."""
    if isinstance(body, dict):
        missing = [FieldError(name, "is required") for name in ("type", "credentials") if name not in body]
        if missing:
            raise ValidationFailed(missing)
    return parse_create(body, RiverGenCreateRequest)


def update_body(body: Any) -> Any:
    """001's update body: the fields to change (snake_case), `credentials` as on create; only given fields change.

    The path names the source; a `key` in the body (the canonical API's way to name it) is refused, not ignored.
    """
    if isinstance(body, dict) and "key" in body:
        raise ValidationFailed([FieldError("key", "is not a field of a 001 update: the path names the data source")])
    return change_request(body)


def snake(value: Any) -> Any:
    """camelCase keys of a canonical answer (test and discovery results) in 001's snake_case."""
    import re

    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): snake(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake(item) for item in value]
    return value
