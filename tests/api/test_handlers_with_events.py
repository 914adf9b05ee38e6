"""The handlers invoked directly with events/*.json, as `make invoke` and `sam local invoke` do."""

from __future__ import annotations

import json

from tests.conftest import load_event


def invoke(local_api, function: str, event: dict) -> dict:
    return local_api.invoker.invoke(function, event)


def test_the_sample_events_drive_a_full_lifecycle(local_api, tenant):
    created = invoke(local_api, "CreateDataSourceFunction", load_event("create_data_source.json", tenant=tenant))
    assert created["statusCode"] == 201, created["body"]
    assert "securepassword" not in created["body"]

    got = invoke(local_api, "GetDataSourceFunction", load_event("get_data_source.json", tenant=tenant))
    assert json.loads(got["body"])["key"] == "production-postgresql"

    listed = invoke(local_api, "ListDataSourcesFunction", load_event("list_data_sources.json", tenant=tenant))
    assert json.loads(listed["body"])["pagination"]["total"] == 1

    updated = invoke(local_api, "UpdateDataSourceFunction", load_event("update_data_source.json", tenant=tenant))
    assert json.loads(updated["body"])["description"] == "Primary OLTP database"
    assert "rotated-password" not in updated["body"]

    stale = invoke(local_api, "UpdateDataSourceFunction", load_event("update_data_source.json", tenant=tenant))
    assert stale["statusCode"] == 409

    deleted = invoke(local_api, "DeleteDataSourceFunction", load_event("delete_data_source.json", tenant=tenant))
    assert deleted["statusCode"] == 204


def test_an_event_without_authorizer_claims_is_answered_401(local_api):
    event = load_event("list_data_sources.json")
    del event["requestContext"]["authorizer"]

    response = invoke(local_api, "ListDataSourcesFunction", event)

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["status"] == 401


def test_cognito_style_list_claims_pick_the_strongest_known_role(local_api, tenant, monkeypatch):
    monkeypatch.setenv("DS_CLAIM_ROLE", "cognito:groups")
    event = load_event("create_data_source.json", tenant=tenant)
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    del claims["role"]
    claims["cognito:groups"] = "[viewer editor]"

    assert invoke(local_api, "CreateDataSourceFunction", event)["statusCode"] == 201


def test_the_dialects_sample_events_create_sources(local_api, tenant):
    foundation = load_event("foundation_create_data_source.json", tenant=tenant)
    foundation["headers"]["x-org"] = tenant
    created = invoke(local_api, "FoundationCreateDataSourceFunction", foundation)
    assert created["statusCode"] == 200, created["body"]
    assert json.loads(created["body"])["entity"]["state"]["code"] == "001"

    public = invoke(
        local_api, "PublicCreateDataSourcesFunction", load_event("public_create_data_sources.json", tenant=tenant)
    )
    assert public["statusCode"] == 200, public["body"]
    assert "securepassword" not in public["body"]

    found = invoke(
        local_api, "PublicFilterDataSourcesFunction", load_event("public_filter_data_sources.json", tenant=tenant)
    )
    assert [s["name"] for s in json.loads(found["body"])["data"]] == ["prod-postgres-primary"]


def test_log_lines_never_carry_the_previous_invocations_tenant(local_api, tenant):
    import io
    import logging

    from datasource_registry.api.observability import logger

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        invoke(local_api, "ListDataSourcesFunction", load_event("list_data_sources.json", tenant=tenant))
        anonymous = load_event("list_data_sources.json")
        del anonymous["requestContext"]["authorizer"]
        captured.truncate(0)
        captured.seek(0)
        invoke(local_api, "ListDataSourcesFunction", anonymous)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]

    assert any(line.get("message") == "request refused" for line in lines)
    assert all(line.get("tenant_id") != tenant for line in lines)
