"""Excel and Iceberg sources over HTTP, discovered through the files runner against the embedded S3: created,
discovered, changed with the writing library (a column and a sheet added to the workbook; a column added to the
Iceberg table's schema), discovered again, and the new snapshot version's diff read."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.connectors.test_excel_iceberg import workbook_bytes

BASE = "/api/v1/data-sources"
CREDENTIALS = {"accessKeyId": "testing", "secretAccessKey": "testing"}  # moto's placeholder keys


def bucket_in(local_api: Any) -> tuple[Any, str]:
    s3 = local_api.aws.client("s3")
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def changes_between(api: Any, identifier: str) -> list[tuple[str, str, str | None]]:
    diff = api.get(f"{BASE}/{identifier}/schema/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200, diff.text
    return sorted((c["kind"], c["table"], c["column"]) for c in diff.json()["changes"])


def test_an_excel_source_gets_a_new_version_when_its_workbook_changes(api, local_api):
    # Given a workbook on S3 and a source naming it
    s3, bucket = bucket_in(local_api)
    orders = [["id", "customer"], [1, "ann"], [2, "bo"]]
    s3.put_object(Bucket=bucket, Key="reports/q1.xlsx", Body=workbook_bytes({"orders": orders}))
    created = api.post(
        BASE,
        json={
            "name": f"Workbook {bucket}",
            "type": "excel",
            "filePath": f"s3://{bucket}/reports/q1.xlsx",
            "credentials": CREDENTIALS,
        },
    )
    assert created.status_code == 201, created.text
    identifier = created.json()["id"]
    tested = api.post(f"{BASE}/{identifier}/test-connection").json()
    first = api.post(f"{BASE}/{identifier}/discover-schema").json()

    # When a column and a sheet are added with openpyxl, and it is discovered again
    wider = [["id", "customer", "total"], [1, "ann", 9.5], [2, "bo", 12.25]]
    s3.put_object(
        Bucket=bucket, Key="reports/q1.xlsx", Body=workbook_bytes({"orders": wider, "refunds": [["order_id"], [1]]})
    )
    second = api.post(f"{BASE}/{identifier}/discover-schema").json()

    # Then the test succeeded, the second discovery is version 2, and the diff names both changes
    assert tested["success"] is True, tested
    assert (first["version"], second["version"]) == (1, 2), (first, second)
    assert changes_between(api, identifier) == [
        ("column_added", "q1.orders", "total"),
        ("table_added", "q1.refunds", None),
    ]


def test_an_iceberg_source_gets_a_new_version_when_its_schema_evolves(api, local_api, tmp_path: Path):
    # Given an Iceberg table written by pyiceberg's SQL catalog into a warehouse on the embedded S3
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.types import StringType

    _, bucket = bucket_in(local_api)
    catalog = SqlCatalog(
        "api",
        **{
            "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
            "warehouse": f"s3://{bucket}/warehouse",
            "s3.endpoint": local_api.aws.endpoint_url,
            "s3.access-key-id": "testing",
            "s3.secret-access-key": "testing",
            "s3.region": "us-east-1",
        },
    )
    catalog.create_namespace("sales")
    rows = pa.table({"order_id": pa.array([1, 2], pa.int64()), "total": [9.5, 12.25]})
    table = catalog.create_table("sales.orders", schema=rows.schema)
    table.append(rows)
    created = api.post(
        BASE,
        json={"name": f"Iceberg {bucket}", "type": "iceberg", "filePath": table.location(), "credentials": CREDENTIALS},
    )
    assert created.status_code == 201, created.text
    identifier = created.json()["id"]
    tested = api.post(f"{BASE}/{identifier}/test-connection").json()
    first = api.post(f"{BASE}/{identifier}/discover-schema").json()

    # When a column is added with pyiceberg's schema evolution, and it is discovered again
    with table.update_schema() as update:
        update.add_column("channel", StringType())
    second = api.post(f"{BASE}/{identifier}/discover-schema").json()
    catalog.engine.dispose()

    # Then the second discovery is version 2 and the diff shows the new column
    assert tested["success"] is True, tested
    assert (first["version"], second["version"]) == (1, 2), (first, second)
    assert changes_between(api, identifier) == [("column_added", f"{bucket}.orders", "channel")]


def test_a_missing_iceberg_table_is_a_clear_error_not_an_unexpected_one(api, local_api):
    _, bucket = bucket_in(local_api)
    created = api.post(
        BASE,
        json={
            "name": f"Missing {bucket}",
            "type": "iceberg",
            "filePath": f"s3://{bucket}/warehouse/none",
            "credentials": CREDENTIALS,
        },
    ).json()

    tested = api.post(f"{BASE}/{created['id']}/test-connection").json()
    discovered = api.post(f"{BASE}/{created['id']}/discover-schema")

    assert (tested["success"], tested["errorCode"]) == (False, "NOT_FOUND"), tested
    assert discovered.status_code == 422, discovered.text
    assert discovered.json()["errorCode"] == "NOT_FOUND"
    assert "no Iceberg metadata file" in discovered.json()["detail"]
