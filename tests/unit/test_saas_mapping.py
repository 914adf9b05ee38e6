"""Snowflake, BigQuery and Salesforce: documented answers mapped to results and stable codes, hosts, routing."""

from __future__ import annotations

import json

import pytest

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, bigquery, salesforce, snowflake
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.pinned_http import Response
from datasource_registry.connectors.saas_http import is_engine_host
from datasource_registry.domain.model import DataSourceSpec
from datasource_registry.domain.schema_service import target_of
from datasource_registry.runner import family_of


def _ctx(**config: str) -> Context:
    target = ConnectionTarget(type="snowflake", source_config=config)
    return Context.create(target, {}, NetworkPolicy(), 5.0, None, whole_call_is_connect=True)


def _answer(status: int, body: object) -> Response:
    return Response(status, "", {}, json.dumps(body).encode())


def test_a_salesforce_source_stored_by_connector_key_alone_routes_to_the_salesforce_connector():
    spec = DataSourceSpec(
        name="CRM", connector_key="salesforce", source_config={"instanceUrl": "https://x.my.salesforce.com"}
    )
    assert spec.type is None
    target = target_of(spec, {})
    assert target.type == "salesforce" and family_of(target.type) == "kv-http"
    from datasource_registry.connectors.api import _module_name

    assert _module_name(target) == "salesforce"


def test_snowflake_warehouse_and_role_reach_the_target():
    spec = DataSourceSpec(name="WH", type="snowflake", host="a.snowflakecomputing.com", warehouse="W", role="R")
    target = target_of(spec, {})
    assert (target.warehouse, target.role) == ("W", "R")


@pytest.mark.parametrize(
    ("host", "suffixes", "ok"),
    [
        ("xy12345.eu-west-1.snowflakecomputing.com", snowflake.SUFFIXES, True),
        ("xy12345.privatelink.snowflakecomputing.com", snowflake.SUFFIXES, True),
        ("snowflakecomputing.com.evil.example", snowflake.SUFFIXES, False),
        ("evilsnowflakecomputing.com", snowflake.SUFFIXES, False),
        ("bigquery.googleapis.com", bigquery.SUFFIXES, True),
        ("oauth2.googleapis.com.", bigquery.SUFFIXES, True),
        ("acme.my.salesforce.com", salesforce.SUFFIXES, True),
        ("acme--dev.sandbox.my.salesforce.com", salesforce.SUFFIXES, True),
        ("login.salesforce.com.attacker.net", salesforce.SUFFIXES, False),
    ],
)
def test_engine_hosts_are_whole_domain_suffixes(host, suffixes, ok):
    assert is_engine_host(host, suffixes) is ok


@pytest.mark.parametrize(
    ("host", "account", "expected"),
    [
        ("xy12345.eu-west-1.snowflakecomputing.com", None, "XY12345"),
        ("myorg-analytics.snowflakecomputing.com", None, "MYORG-ANALYTICS"),
        ("proxy.internal", "xy12345.eu-west-1", "XY12345"),
    ],
)
def test_the_key_pair_jwt_names_the_account_as_snowflake_documents(host, account, expected):
    ctx = _ctx(**({"account": account} if account else {}))
    assert snowflake.jwt_account(ctx, host) == expected


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"code": "390144", "message": "JWT token is invalid. [0ce9eb56]"}, "AUTH_FAILED"),
        (
            422,
            {"code": "002003", "message": "Database 'X' does not exist or not authorized.", "sqlState": "02000"},
            "NOT_FOUND",
        ),
        (422, {"code": "000606", "message": "No active warehouse selected in the current session."}, "INVALID_CONFIG"),
        (422, {"code": "003001", "message": "SQL access control error: Insufficient privileges"}, "PERMISSION_DENIED"),
        (400, {"code": "390100", "message": "Incorrect username or password was specified."}, "AUTH_FAILED"),
        (429, {"code": "", "message": "Too many requests"}, "PROTOCOL_ERROR"),
        (504, {}, "TIMEOUT"),
    ],
)
def test_snowflake_sql_api_errors(status, body, code):
    error = snowflake.error_of(_ctx(), _answer(status, body))
    assert error.code == code and str(status) in error.message


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (401, "authError", "AUTH_FAILED"),
        (403, "accessDenied", "PERMISSION_DENIED"),
        (403, "rateLimitExceeded", "PROTOCOL_ERROR"),
        (404, "notFound", "NOT_FOUND"),
        (400, "invalid", "INVALID_CONFIG"),
    ],
)
def test_bigquery_errors(status, reason, code):
    body = {"error": {"code": status, "message": "m", "errors": [{"reason": reason}], "status": "X"}}
    assert bigquery.error_of(_ctx(), _answer(status, body)).code == code


@pytest.mark.parametrize(
    ("status", "error_code", "code"),
    [
        (401, "INVALID_SESSION_ID", "AUTH_FAILED"),
        (403, "API_DISABLED_FOR_ORG", "PERMISSION_DENIED"),
        (403, "REQUEST_LIMIT_EXCEEDED", "PROTOCOL_ERROR"),
        (404, "NOT_FOUND", "NOT_FOUND"),
        (400, "INVALID_TYPE", "NOT_FOUND"),
    ],
)
def test_salesforce_errors(status, error_code, code):
    body = [{"message": "m", "errorCode": error_code}]
    assert salesforce.error_of(_ctx(), status, body).code == code


def test_bigquery_records_flatten_to_dotted_paths_with_repeated_marked():
    fields = [
        {
            "name": "a",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": "b", "type": "STRUCT", "fields": [{"name": "c", "type": "INT64", "mode": "REQUIRED"}]}],
        },
        {"name": "d", "type": "GEOGRAPHY"},
    ]
    assert list(bigquery.flatten(fields)) == [
        ("a", "RECORD REPEATED", False),
        ("a.b", "STRUCT", True),
        ("a.b.c", "INT64", False),
        ("d", "GEOGRAPHY", True),
    ]


def test_snowflake_globs_become_like_patterns_only_when_like_can_say_them():
    assert snowflake.like_pattern("PUBLIC.ORDER_*") == "PUBLIC.ORDER\\_%"
    assert snowflake.like_pattern("a%b?") == "a\\%b_"
    assert snowflake.like_pattern("x.[ab]*") is None
    where, bound = snowflake.pushed_filter(NameFilter(("S.[ab]*", "S.T"), ("S.TMP_*",)))
    assert "OR" not in where and bound == ["S.TMP\\_%"]  # an include with a class is filtered here, not pushed


def test_salesforce_describe_fields_map_to_columns():
    describe = {
        "fields": [
            {"name": "Id", "type": "id", "nillable": False},
            {"name": "Stage", "type": "picklist", "length": 40, "nillable": False, "defaultValue": "New"},
            {"name": "Probability", "type": "percent", "precision": 3, "scale": 0, "nillable": True},
        ]
    }
    table = salesforce.table_of("Opportunity", describe, 12)
    assert table.primary_key == ["Id"] and table.estimated_rows == 12
    assert [(c.name, c.type, c.nullable, c.default) for c in table.columns] == [
        ("Id", "id", False, None),
        ("Stage", "picklist(40)", False, "New"),
        ("Probability", "percent(3,0)", True, None),
    ]
