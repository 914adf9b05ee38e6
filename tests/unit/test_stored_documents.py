"""Stored documents have their own model: items written by earlier versions stay readable.

The fixtures under fixtures/stored/ are items exactly as the registry wrote them to DynamoDB on 2026-11-23
(before adapters/stored.py existed). They are read as they are, after a field is added to the model (the stored
document lacks it), after one is removed (the stored document still has it), and with values today's write-time
rules would refuse.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from datasource_registry.adapters.dynamodb import DynamoDbDataSourceRepository
from datasource_registry.adapters.stored import StoredDataSource, StoredSpec, document_of
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.types import DataSourceType, Status, SyncMode

FIXTURES = Path(__file__).parent / "fixtures" / "stored"
ITEMS = {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}
read = DynamoDbDataSourceRepository.from_item


def _with_doc(item: dict[str, Any], change: Any) -> dict[str, Any]:
    edited = copy.deepcopy(item)
    doc = json.loads(edited["doc"]["S"])
    change(doc)
    edited["doc"]["S"] = json.dumps(doc)
    return edited


def test_there_are_fixtures_of_each_dialect():
    assert set(ITEMS) == {"canonical_postgresql", "foundation_s3", "public_mysql"}


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_todays_items_read_back_and_write_the_same_document(name):
    source = read(ITEMS[name])
    written = json.loads(DynamoDbDataSourceRepository(None, "t").to_item(source)["doc"]["S"])  # type: ignore[arg-type]
    stored = json.loads(ITEMS[name]["doc"]["S"])
    # Everything the item held is written back as it was; fields added since are written at their defaults.
    added = set(written["spec"]) - set(stored["spec"])
    assert all(written["spec"][field] in (None, [], {}) for field in added), added
    assert {**written, "spec": {k: v for k, v in written["spec"].items() if k not in added}} == stored


def test_what_the_items_hold_is_read_as_written():
    pg = read(ITEMS["canonical_postgresql"])
    assert (pg.id, pg.tenant_id, pg.key, pg.row_version) == (
        "ds_01m84x2ggb5szt7xw5wawcc5a8",
        "acme",
        "production-postgresql",
        7,
    )
    assert pg.spec.type is DataSourceType.POSTGRESQL and pg.spec.port == 5432
    assert pg.spec.sync_mode is SyncMode.INCREMENTAL and pg.spec.status is Status.ACTIVE
    assert pg.spec.schedule.cron == "0 2 * * *" and pg.spec.schedule.timezone == "America/New_York"
    assert pg.credential_names == ["password", "username"] and pg.last_test_ok is True
    assert pg.next_refresh_at is not None and pg.refresh_claim == "claim-1"  # from the item's index attributes
    s3 = read(ITEMS["foundation_s3"])
    assert s3.extensions["foundation"]["label"] == "ORD" and s3.system_ids == ["sys_01m84x2ggb5szt7xw5wawcc5aa"]
    assert s3.spec.secret_refs == {"access_key": "S3_ACCESS_KEY", "secret_key": "S3_SECRET_KEY"}
    assert s3.failure_count == 2 and s3.refresh_failures == 2
    mysql = read(ITEMS["public_mysql"])
    assert mysql.spec.secret_manager_key == "team/warehouse-reader"
    assert mysql.extensions["public_v1"]["note"] == "nightly"


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_a_field_added_since_is_absent_from_old_items_and_takes_its_default(name):
    # A field this version added (here: region, tags, lastRefreshStatus) is missing from what an older one wrote.
    def drop(doc: dict[str, Any]) -> None:
        del doc["spec"]["region"], doc["spec"]["tags"], doc["last_refresh_status"], doc["system_ids"]

    source = read(_with_doc(ITEMS[name], drop))
    assert source.spec.region is None and source.spec.tags == []
    assert source.last_refresh_status is None and source.system_ids == []


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_a_field_removed_since_is_still_in_old_items_and_is_ignored(name):
    def add(doc: dict[str, Any]) -> None:
        doc["legacy_flag"] = True
        doc["spec"]["storage_file_id"] = 17  # 001's deprecated field, if it had ever been stored
        doc["spec"]["schedule"]["legacy"] = "x"

    source = read(_with_doc(ITEMS[name], add))
    assert source == read(ITEMS[name])


def test_values_todays_rules_refuse_are_read_as_they_were_stored():
    # Written before names, patterns, URLs and types were checked as they are now; still readable, as stored.
    def loosen(doc: dict[str, Any]) -> None:
        doc["spec"]["name"] = "Zero\u200bwidth"
        doc["spec"]["include_patterns"] = ["public.[z-a]", "public.[abc"]
        doc["spec"]["connection_string"] = "postgresql://u:p@[::1/db"
        doc["spec"]["type"] = "kafka"
        doc["spec"]["sync_mode"] = "streaming"
        doc["spec"]["status"] = "retired"

    source = read(_with_doc(ITEMS["canonical_postgresql"], loosen))
    assert source.spec.name == "Zero\u200bwidth" and source.spec.include_patterns == ["public.[z-a]", "public.[abc"]
    assert source.spec.type is None and source.spec.connector_key == "postgresql"
    assert source.spec.sync_mode is SyncMode.FULL_REFRESH and source.spec.status is Status.DRAFT


def test_the_stored_model_covers_every_field_of_the_domain():
    # A field added to the domain but not to the stored model would be silently lost on the next write.
    assert set(StoredSpec.model_fields) == set(DataSourceSpec.model_fields)
    # id, tenant, rowVersion and the internal revision are the item's own attributes (adapters/dynamodb.py)
    item_attributes = {"id", "tenant_id", "row_version", "revision"}
    assert set(StoredDataSource.model_fields) == set(DataSource.model_fields) - item_attributes


def test_a_document_past_dynamodbs_item_limit_is_a_400_naming_the_largest_field():
    source = read(ITEMS["foundation_s3"])
    source.extensions["foundation"]["entity_info"]["contact_ids"] = ["c" * 4000] * 100
    with pytest.raises(ValidationFailed) as refused:
        document_of(source)
    assert [error.field for error in refused.value.errors] == ["entity_info"]
    source.extensions["foundation"]["entity_info"]["contact_ids"] = []
    source.spec.include_patterns = ["p" * 500] * 800
    with pytest.raises(ValidationFailed) as refused:
        document_of(source)
    assert [error.field for error in refused.value.errors] == ["includePatterns"]
