"""Table formats over HTTP on real parts: a Delta table and a Hudi table on the embedded S3 (moto) discovered, a column
added by the library (Delta's schema evolution; a later Hudi commit with a wider schema), discovered again: a new
snapshot version and a diff naming the added column."""

from __future__ import annotations

import uuid

import pyarrow as pa
from deltalake import write_deltalake

from devserver.hudi_writer import HudiTable

BASE = "/api/v1/data-sources"
SECRET = "lake-secret-marker-7f3a"
ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "day": pa.array(["a", "b"], pa.string())})


def bucket(local_api) -> str:
    name = f"lake-{uuid.uuid4().hex[:10]}"
    local_api.aws.client("s3").create_bucket(Bucket=name)
    return name


def source(type_name: str, path: str) -> dict:
    return {
        "name": f"Lake {uuid.uuid4().hex[:6]}",
        "type": type_name,
        "filePath": path,
        "region": "us-east-1",
        "credentials": {"accessKeyId": "testing-key", "secretAccessKey": SECRET},
    }


def discover_twice(api, created: dict, change) -> tuple[dict, dict, dict]:
    first = api.post(f"{BASE}/{created['id']}/discover-schema")
    assert first.status_code == 200, first.text
    change()
    second = api.post(f"{BASE}/{created['id']}/discover-schema")
    assert second.status_code == 200, second.text
    diff = api.get(f"{BASE}/{created['id']}/schema/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200, diff.text
    return first.json(), second.json(), diff.json()


def test_a_delta_column_added_by_the_library_is_a_new_version_and_a_diff(api, local_api):
    # Given a partitioned Delta table on the embedded S3, written with deltalake, registered and discovered
    name = bucket(local_api)
    uri = f"s3://{name}/warehouse/orders"
    options = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
        "aws_endpoint_url": local_api.aws.endpoint_url,
        "aws_allow_http": "true",
    }
    write_deltalake(uri, ROWS, partition_by=["day"], storage_options=options)
    created = api.post(BASE, json=source("delta_lake", uri)).json()
    tested = api.post(f"{BASE}/{created['id']}/test-connection")

    # When a column is added by the library's schema evolution and the table is discovered again
    wider = ROWS.append_column("amount", pa.array([1.5, 2.5], pa.float64()))
    first, second, diff = discover_twice(
        api,
        created,
        lambda: write_deltalake(uri, wider, mode="append", schema_mode="merge", storage_options=options),
    )

    # Then the test passed, the schema has a second version, and the diff names the added column
    assert tested.status_code == 200 and tested.json()["success"] is True, tested.text
    assert (first["version"], second["version"]) == (1, 2)
    assert diff["changes"] == [
        {
            "kind": "column_added",
            "severity": "non_breaking",
            "table": f"{name}.orders",
            "column": "amount",
            "before": None,
            "after": "double",
        }
    ]
    assert SECRET not in str(diff) + str(first) + str(second) + tested.text


def test_a_hudi_column_added_by_a_later_commit_is_a_new_version_and_a_diff(api, local_api):
    # Given a Hudi copy-on-write table on the embedded S3, registered and discovered
    name = bucket(local_api)
    table = HudiTable(local_api.aws.client("s3"), name, "warehouse/trips", "trips", "id", "day").create()
    table.commit(ROWS, "20250101000000000")
    created = api.post(BASE, json=source("hudi", f"s3://{name}/warehouse/trips")).json()

    # When a later commit writes a wider schema and the table is discovered again
    wider = ROWS.append_column("tip", pa.array([0.5, 1.0], pa.float64()))
    first, second, diff = discover_twice(api, created, lambda: table.commit(wider, "20250102000000000"))

    # Then the schema has a second version, and the diff names the added column
    assert (first["version"], second["version"]) == (1, 2)
    assert [(c["kind"], c["table"], c["column"], c["after"]) for c in diff["changes"]] == [
        ("column_added", f"{name}.trips", "tip", "double")
    ]


def test_no_table_at_the_path_is_a_clear_failure_not_an_error(api, local_api):
    name = bucket(local_api)
    created = api.post(BASE, json=source("delta_lake", f"s3://{name}/nothing")).json()

    tested = api.post(f"{BASE}/{created['id']}/test-connection")
    discovered = api.post(f"{BASE}/{created['id']}/discover-schema")

    assert tested.status_code == 200, tested.text
    assert (tested.json()["success"], tested.json()["errorCode"]) == (False, "NOT_FOUND")
    assert discovered.status_code == 422, discovered.text
    assert "NOT_FOUND" in discovered.text
