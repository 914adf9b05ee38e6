"""The committed openapi.json is what the generator makes from template.yaml and the handlers' Doc today."""

from __future__ import annotations

import json

import pytest
from pydantic.alias_generators import to_snake

from datasource_registry.api.canonical_writes import change_request, update_request
from datasource_registry.api.http import Request
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.types import Role
from devserver.openapi import OPENAPI_FILE, document, render
from devserver.template import load


def test_the_committed_openapi_document_is_current():
    # Given the committed document, When the generator runs now, Then they are the same
    assert OPENAPI_FILE.read_text() == render(document()), "openapi.json is stale: run make openapi"


def test_every_route_of_the_template_is_documented_with_problems_and_bearer_auth():
    doc = json.loads(OPENAPI_FILE.read_text())
    for route in load().routes():
        operation = doc["paths"][route.path][route.method.lower()]
        assert {"400", "401", "403", "503"} <= set(operation["responses"]), route
        # 001's routes answer the problem with 001's members added (success, message, error.code)
        problem = "RiverGenProblem" if route.path.startswith("/rivergen/") else "Problem"
        assert operation["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
            "$ref": f"#/components/schemas/{problem}"
        }
    assert doc["security"] == [{"bearerAuth": []}]


def test_field_descriptions_flow_into_the_document():
    schemas = json.loads(OPENAPI_FILE.read_text())["components"]["schemas"]
    assert "Display name" in schemas["CreateDataSourceRequest"]["properties"]["name"]["description"]
    assert "rowVersion" in schemas["DataSourceView"]["properties"]


def test_the_local_server_serves_the_document_and_swagger_ui_without_a_token(server):
    import httpx

    with httpx.Client(base_url=server.url) as client:
        assert client.get("/openapi.json").json()["openapi"] == "3.1.0"
        page = client.get("/docs")
        assert page.status_code == 200 and "/openapi.json" in page.text
        assert client.get("/docs/swagger-ui-bundle.js").status_code == 200


def _schemas():
    return json.loads(OPENAPI_FILE.read_text())["components"]["schemas"]


def _operations():
    doc = json.loads(OPENAPI_FILE.read_text())
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_model_has_one_name_and_no_two_properties_meet_after_a_generator_renames_them():
    # Given the document's models, Then no name was qualified to break a tie (a generator keeps only one of them),
    # and no two property spellings become one Python name (openapi-python-client then drops the whole model)
    for name, schema in _schemas().items():
        assert "__" not in name, f"two models are called {name.rsplit('__', 1)[-1]}"
        spellings = [to_snake(prop) for prop in schema.get("properties", {})]
        assert len(spellings) == len(set(spellings)), f"{name}: two properties spell one name"


def test_the_update_parsers_accept_exactly_the_documented_fields():
    # Given the documented PUT bodies, Then they are closed, and the parser takes each documented field ...
    schemas = _schemas()
    for model, parse in (("UpdateDataSourceRequest", update_request), ("RiverGenChanges", change_request)):
        schema = schemas[model]
        assert schema["additionalProperties"] is False, model
        for name in schema["properties"]:
            parse({name: None, "key": "a-key"} if model == "UpdateDataSourceRequest" else {name: None})
        # ... and refuses what the document does not name
        with pytest.raises(ValidationFailed) as refused:
            parse({"key": "a-key", "hostname": "db"} if model == "UpdateDataSourceRequest" else {"hostname": "db"})
        assert refused.value.errors[0].field == "hostname"


def test_every_answer_says_what_it_holds():
    # Given every 2xx answer of every dialect, Then its body is a named model or an array of one, and no
    # envelope's `data` is left as "anything"
    schemas = _schemas()
    for path, method, operation in _operations():
        for status, answer in operation["responses"].items():
            if not status.startswith("2") or "content" not in answer:
                continue
            schema = answer["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[1]
            data = schemas[name].get("properties", {}).get("data")
            if data is not None:
                assert set(data) - {"title", "description"}, f"{method} {path}: data is untyped"
    lists = {"/api/data/data_source/list": "FoundationDataSourceView", "/api/data/data_system/list": "DataSystemView"}
    doc = json.loads(OPENAPI_FILE.read_text())
    for path, item in lists.items():
        ref = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert schemas[ref.rsplit("/", 1)[1]]["items"] == {"$ref": f"#/components/schemas/{item}"}


def test_the_headers_handlers_read_are_declared_where_they_are_read():
    # Given the routes, Then every Foundation route requires x-org, every create takes an Idempotency-Key and
    # every write guarded by a version takes If-Match (Request.header refuses to read an undeclared one)
    for path, method, operation in _operations():
        headers = {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "header"}
        if path.startswith("/api/data/"):
            assert headers.get("x-org") is True, f"{method} {path}"
        creates = operation["operationId"] in {
            "CreateDataSource",
            "FoundationCreateDataSource",
            "FoundationCreateDataSystem",
            "PublicCreateDataSources",
            "RiverGenCreateDataSource",
        }
        assert ("Idempotency-Key" in headers) is creates, f"{method} {path}"
        if method in {"put", "patch", "delete"} and not path.startswith("/api/data/"):
            assert headers.get("If-Match") is False, f"{method} {path}"


def test_a_handler_cannot_read_a_header_its_doc_does_not_declare():
    # Given a request whose endpoint declared only If-Match, When another header is read, Then it is refused
    request = Request(
        Principal(subject="u", tenant_id="t", role=Role.EDITOR),
        {"if-match": '"3"', "x-org": "t"},
        {},
        {},
        None,
        declared_headers=frozenset({"if-match"}),
    )
    assert request.expected_version() == 3
    with pytest.raises(LookupError, match="x-org"):
        request.header("x-org")
