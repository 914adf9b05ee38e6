"""The list page, serialized in one pass by pydantic-core, is the document the single views and `DataSourcePage` say."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from datasource_registry.api.canonical import DataSourcePage, canonical_view, page_view
from datasource_registry.api.http import JsonText, Response
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.ports import Page

NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
PASSWORD = "s3cr3t-Pässwörd"  # a value that must never be shown


def source(number: int, **spec: object) -> DataSource:
    return DataSource(
        id=f"ds_01kaqz5h00000000000000000{number}",
        tenant_id="t",
        key=f"orders-{number}",
        spec=DataSourceSpec.model_validate({"name": f"Orders {number}", "type": "postgresql", **spec}),
        created_at=NOW,
        updated_at=NOW,
        created_by="alice",
        credential_names=["password"],
    )


SOURCES = [
    source(1, host="db", port=5432, databaseName="d", tags=["a"]),
    source(2, schedule={"cron": "0 2 * * *"}, metadata={"owner": "Zoë", "nested": {"n": 1.5, "list": [1, None]}}),
    source(3, schedule={"cron": "0 2 * * *", "timezone": "Europe/Paris"}, description='Ünïcode ✓ "quoted"'),
    source(4, connectionString=f"postgresql://app:{PASSWORD}@db.example.com:5432/orders"),
]


def test_the_page_is_the_single_views_and_the_pagination_in_one_document():
    text = page_view(Page(items=SOURCES, next_after=SOURCES[-1].id, total=9), 4)

    assert isinstance(text, JsonText)
    document = json.loads(text)
    assert document["data"] == [canonical_view(item) for item in SOURCES]
    assert document["pagination"]["total"] == 9
    assert document["pagination"]["limit"] == 4
    assert document["pagination"]["hasMore"] is True
    assert document["pagination"]["nextCursor"]
    DataSourcePage.model_validate(document)  # the documented model reads it back


def test_a_schedule_shows_only_the_members_that_are_set():
    shown = [
        item["schedule"] for item in json.loads(page_view(Page(items=SOURCES, next_after=None, total=4), 25))["data"]
    ]

    assert shown == [{}, {"cron": "0 2 * * *"}, {"cron": "0 2 * * *", "timezone": "Europe/Paris"}, {}]
    assert [canonical_view(item)["schedule"] for item in SOURCES] == shown


def test_a_secret_in_a_connection_string_is_never_in_the_page():
    text = page_view(Page(items=SOURCES, next_after=None, total=4), 25)

    assert PASSWORD not in text
    assert json.loads(text)["data"][3]["connectionString"] == "postgresql://app:********@db.example.com:5432/orders"


def test_an_encoded_body_is_sent_as_it_is_and_any_other_is_encoded():
    text = page_view(Page(items=SOURCES[:1], next_after=None, total=1), 25)

    assert Response(200, text).to_api_gateway()["body"] == text
    assert Response(200, {"a": "é"}).to_api_gateway()["body"] == '{"a":"\\u00e9"}'
