"""API models and answers of the connector catalogue (GET /api/v1/connector-types, GET /api/v1/connector-types/{type})."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.api.http import MAX_PARAMETER_LENGTH, Header, Request, Response
from datasource_registry.domain import catalogue
from datasource_registry.domain.errors import FieldError, NotFound, ValidationFailed

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
# The same for every caller and every tenant, and fixed for a deployment: clients may keep it an hour and revalidate.
CACHE_CONTROL = "private, max-age=3600"
IF_NONE_MATCH = Header("If-None-Match", "The ETag of a copy the client holds: 304 when it is still current.")


class CapabilitiesView(BaseModel):
    model_config = _CAMEL
    test: Annotated[bool, Field(description="POST .../test-connection connects to it.")]
    discover: Annotated[bool, Field(description="POST .../discover-schema reads its schema.")]
    ssh_tunnel: Annotated[bool, Field(description="useSshTunnel is honoured.")]
    include_exclude: Annotated[bool, Field(description="includePatterns/excludePatterns select what discovery reads.")]


class ConnectorTypeView(BaseModel):
    model_config = _CAMEL
    type: Annotated[str, Field(description="The key a source names it by (`type`, or `connectorKey` alone).")]
    configured_by: Annotated[
        Literal["type", "connectorKey"],
        Field(description="`type` for 001's and 000's types; `connectorKey` for 003's keys that are no type."),
    ]
    display_name: str
    family: Annotated[str, Field(description="sql, warehouse, nosql, kv, files, http, stream, saas, generated, other.")]
    description: str
    status: Annotated[
        Literal["supported", "planned", "stored-only"],
        Field(
            description="`supported`: tested and discovered; `stored-only`: `other`, which names no system to connect"
            " to (a test answers INVALID_CONFIG saying so); `planned`: stored, a test answers UNSUPPORTED."
        ),
    ]
    capabilities: CapabilitiesView
    secret_fields: Annotated[
        list[str], Field(description="Paths of the secret fields: kept in AWS Secrets Manager, never returned.")
    ]
    config_schema: Annotated[
        dict[str, Any],
        Field(
            description="JSON Schema (2020-12) of the configuration: the registry validates writes with these rules. "
            "Secret fields carry `writeOnly`, `x-secret` and `x-secret-store`; `x-ready-when` states what a "
            "connection needs."
        ),
    ]
    example: Annotated[dict[str, Any], Field(description="A create body (POST /api/v1/data-sources) for this type.")]


class ConnectorTypeList(BaseModel):
    model_config = _CAMEL
    data: list[ConnectorTypeView]


def connector_type_view(entry: catalogue.ConnectorType) -> dict[str, Any]:
    capabilities = entry.capabilities
    return {
        "type": entry.key,
        "configuredBy": "type" if entry.is_type else "connectorKey",
        "displayName": entry.display_name,
        "family": entry.family,
        "description": entry.description,
        "status": entry.status,
        "capabilities": {
            "test": capabilities.test,
            "discover": capabilities.discover,
            "sshTunnel": capabilities.ssh_tunnel,
            "includeExclude": capabilities.include_exclude,
        },
        "secretFields": entry.secret_fields,
        "configSchema": catalogue.config_schema(entry),
        "example": entry.example,
    }


@cache
def _answers() -> dict[str | None, tuple[dict[str, Any], str]]:
    """Each answer and its ETag, built once per container (None: the whole list)."""
    bodies: dict[str | None, dict[str, Any]] = {
        key: connector_type_view(entry) for key, entry in catalogue.catalogue().items()
    }
    bodies = {None: {"data": list(bodies.values())}, **bodies}
    return {key: (body, _etag(body)) for key, body in bodies.items()}


def _etag(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f'"{digest[:32]}"'


def answer(request: Request, key: str | None = None) -> Response:
    """The catalogue (or one type of it) with its ETag; 304 when the client's copy is current; 404 for no type."""
    found = _answers().get(key)
    if found is None:
        raise NotFound("No connector type by that name: GET /api/v1/connector-types lists them.")
    body, tag = found
    headers = {"etag": tag, "cache-control": CACHE_CONTROL}
    given = request.header(IF_NONE_MATCH.name) or ""
    if len(given) > MAX_PARAMETER_LENGTH:  # as the OpenAPI document says of every header
        raise ValidationFailed([FieldError("If-None-Match", f"must be at most {MAX_PARAMETER_LENGTH} characters")])
    if tag in (part.strip().removeprefix("W/") for part in given.split(",")) or given.strip() == "*":
        return Response(304, None, headers)
    return Response(200, body, headers)
