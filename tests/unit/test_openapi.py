"""The committed openapi.json is what the generator makes from template.yaml and the handlers' Doc today."""

from __future__ import annotations

import json

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
        assert operation["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
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
