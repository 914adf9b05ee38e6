"""The OpenAPI 3.1 document: every HttpApi route of template.yaml, described by its handler's `Doc` and pydantic models."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from datasource_registry.api.http import MAX_BODY_BYTES, MAX_PARAMETER_LENGTH, Doc
from datasource_registry.api.problems import Problem
from devserver.lambdas import Invoker
from devserver.template import Route, Template, load

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"
REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

# Status -> when it is answered; which ones an operation documents follows from its method and inputs.
_PROBLEM_TEXT = {
    400: "The request is not valid: `errors` names each field and why.",
    401: "No bearer token, or one that is expired, unsigned or for another audience.",
    403: "The token's role may not do this (viewers read, editors and admins write).",
    404: "No such data source in the caller's organisation (another tenant's source is not found either).",
    409: "Conflict: the key or name is taken, or the rowVersion/If-Match is stale (`current` holds the latest).",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes.",
    415: "The body is not `application/json`.",
    428: "The operation needs a rowVersion or If-Match.",
    503: "An AWS dependency is unavailable; nothing was written. Retry later (see Retry-After).",
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def problem_statuses(route: Route, doc: Doc) -> list[int]:
    statuses = {400, 401, 403, 503, *doc.problems}
    names_one = "{" in route.path or any(q.name in {"identifier", "child_identifier"} for q in doc.query)
    if names_one or route.method in _WRITES - {"POST"}:
        statuses.add(404)  # a path id or 000's ?identifier= that names nothing of the caller's
    if route.method in _WRITES:
        statuses.add(409)
    if doc.request is not None:
        statuses |= {413, 415}
    if any(header.name == "Idempotency-Key" for header in doc.headers):
        statuses |= {409, 422}  # a retry still in flight; a key reused with another body
    return sorted(statuses)


def _parameter(location: str, name: str, description: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = dict(schema)
    if schema.get("type") == "string":
        schema.setdefault("maxLength", MAX_PARAMETER_LENGTH)
    return {"name": name, "in": location, "required": required, "description": description, "schema": schema}


PATH_PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "id": ("Data source id (`ds_...`) or key.", {"type": "string", "minLength": 1}),
    "n": ("Revision number (1 is the create).", {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}),
    "type": (
        "Connector type key, e.g. `postgresql` or `kafka` (GET /api/v1/connector-types).",
        {"type": "string", "minLength": 1},
    ),
}


def operation(route: Route, doc: Doc, refs: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    parameters = [
        _parameter("path", name, *PATH_PARAMETERS.get(name, PATH_PARAMETERS["id"]), True)
        for name in re.findall(r"\{([A-Za-z0-9_]+)\}", route.path)
    ]
    parameters += [_parameter("query", q.name, q.description, q.schema, q.required) for q in doc.query]
    parameters += [_parameter("header", h.name, h.description, h.schema, h.required) for h in doc.headers]
    responses: dict[str, Any] = {}
    for status, model in sorted(doc.responses.items()):
        answer: dict[str, Any] = {"description": doc.summary if model else "Done; no content."}
        if model is not None:
            answer["content"] = {JSON: {"schema": refs[(model, "serialization")]}}
        responses[str(status)] = answer
    problem_ref = refs[(doc.problem_model or Problem, "serialization")]
    for status in problem_statuses(route, doc):
        responses[str(status)] = {
            "description": _PROBLEM_TEXT.get(status, "See the problem's detail."),
            "content": {PROBLEM_JSON: {"schema": problem_ref}},
        }
    op: dict[str, Any] = {
        "operationId": route.function.removesuffix("Function"),
        "summary": doc.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if doc.request is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": refs[(doc.request, "validation")]}}}
    return op


def document(template: Template | None = None) -> dict[str, Any]:
    """One OpenAPI 3.1 document for every HttpApi route, in template order."""
    template = template or load()
    functions = template.functions()
    invoker = Invoker(functions)
    docs: list[tuple[Route, Doc]] = []
    for route in template.routes():
        handler = getattr(invoker.module(route.function), functions[route.function].handler.rsplit(".", 1)[1])
        docs.append((route, handler.openapi))
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for _, doc in docs:
        wanted += [(model, "serialization") for model in doc.responses.values() if model is not None]
        if doc.problem_model is not None:
            wanted.append((doc.problem_model, "serialization"))
        if doc.request is not None:
            wanted.append((doc.request, "validation"))
    # One call names every model once; a model that differs between request and response gets -Input/-Output.
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), by_alias=True, ref_template=REF)
    components = definitions.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for route, doc in docs:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route, doc, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Data source registry",
            "version": "1.0.0",
            "description": str(template.document.get("Description", "")).strip(),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main() -> int:
    doc = document()
    OPENAPI_FILE.write_text(render(doc))
    print(f"wrote {OPENAPI_FILE.name}: {sum(len(ops) for ops in doc['paths'].values())} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
