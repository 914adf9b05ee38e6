"""What the proofs share: the one per-route sample table, the stored-state invariants, and the AWS fault injector."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.httpsession import URLLib3Session

from datasource_registry import runtime
from datasource_registry.domain.names import name_identity
from devserver.template import Route, load

# Every credential field carries this, so a leak anywhere is found by a plain substring scan (001's `warehouse` and
# `role` are configuration, shown on the source: they are not marked).
MARKER = "SeCrEt-MaRkEr-7f3a9c"
CREDENTIAL_FIELDS = [
    "username",
    "password",
    "apiKey",
    "oauthToken",
    "sshPrivateKey",
    "sshPassphrase",
    "accessKeyId",
    "secretAccessKey",
    "azureSharedKey",
]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def marked_credentials(n: int | str) -> dict[str, str]:
    return {name: f"{MARKER}-{name}-{n}" for name in CREDENTIAL_FIELDS}


def create_body(n: int | str, **extra: Any) -> dict[str, Any]:
    # 000's synthetic type: connection tests and discovery really run (and store snapshots) with no network,
    # whatever the marked credentials say; the connection fields are still stored and validated.
    body = {
        "key": f"src-{n}",
        "name": f"Source {n}",
        "type": "synthetic",
        "host": "db.example.com",
        "port": 5432,
        "databaseName": "production",
        "connectionTimeout": 5,
        "secretRefs": {"password": "DB_PASSWORD"},
        "credentials": marked_credentials(n),
    }
    body.update(extra)
    return body


@dataclass
class Call:
    """One HTTP request of a route, ready for httpx."""

    method: str
    url: str
    params: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client: httpx.Client) -> httpx.Response:
        return client.request(self.method, self.url, params=self.params, json=self.json, headers=self.headers)


@dataclass(frozen=True)
class Sample:
    """How to call a route on an existing source (`source` is its JSON view); `n` makes names unique."""

    build: Callable[[dict[str, Any], int], Call]
    targets_source: bool = True  # False for collection routes (create, list), which name no source
    reads: bool = False  # a POST that only reads (002's by-ids and filter): viewers may call it


PLACEHOLDER_JOB = "job_01kaqz5h0000000000000000000"  # well formed, never issued: its reads answer 404

# The one per-route table: a route added to template.yaml needs a row here, and every proof then covers it.
SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/data-sources"): Sample(
        lambda source, n: Call("POST", "/api/v1/data-sources", json=create_body(n)), targets_source=False
    ),
    ("GET", "/api/v1/data-sources"): Sample(
        lambda source, n: Call("GET", "/api/v1/data-sources", params={"limit": "100"}), targets_source=False
    ),
    ("GET", "/api/v1/data-sources/{id}"): Sample(lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}")),
    ("PUT", "/api/v1/data-sources"): Sample(
        lambda source, n: Call(
            "PUT",
            "/api/v1/data-sources",
            json={
                "key": source["key"],
                "description": f"changed {n}",
                "port": 5433,
                "credentials": marked_credentials(f"new-{n}"),
                "rowVersion": source["rowVersion"],
            },
        )
    ),
    ("DELETE", "/api/v1/data-sources"): Sample(
        lambda source, n: Call(
            "DELETE",
            "/api/v1/data-sources",
            params={"key": source["key"]},
            headers={"if-match": f'"{source["rowVersion"]}"'},
        )
    ),
    # -- connections and schemas ----------------------------------------------------------------------------
    ("POST", "/api/v1/data-sources/{id}/test-connection"): Sample(
        lambda source, n: Call("POST", f"/api/v1/data-sources/{source['id']}/test-connection")
    ),
    ("POST", "/api/v1/data-sources/test-connection"): Sample(
        lambda source, n: Call("POST", "/api/v1/data-sources/test-connection", json=create_body(n)),
        targets_source=False,
    ),
    ("POST", "/api/v1/data-sources/{id}/discover-schema"): Sample(
        lambda source, n: Call("POST", f"/api/v1/data-sources/{source['id']}/discover-schema")
    ),
    ("GET", "/api/v1/data-sources/{id}/discoveries"): Sample(
        lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}/discoveries")
    ),
    ("GET", "/api/v1/data-sources/{id}/discoveries/{jobId}"): Sample(
        lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}/discoveries/{PLACEHOLDER_JOB}")
    ),
    ("GET", "/api/v1/data-sources/{id}/schema"): Sample(
        lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}/schema")
    ),
    ("GET", "/api/v1/data-sources/{id}/schema/diff"): Sample(
        lambda source, n: Call(
            "GET", f"/api/v1/data-sources/{source['id']}/schema/diff", params={"from": "1", "to": "1"}
        )
    ),
    # -- the connector catalogue: no tenant data (another tenant's source is simply not in it) ----------------
    ("GET", "/api/v1/connector-types"): Sample(
        lambda source, n: Call("GET", "/api/v1/connector-types"), targets_source=False
    ),
    ("GET", "/api/v1/connector-types/{type}"): Sample(
        lambda source, n: Call("GET", f"/api/v1/connector-types/{source.get('type') or 'postgresql'}"),
        targets_source=False,
    ),
    # -- configuration history (every source has revision 1, its create, and 2, its link to a system) ----------
    ("GET", "/api/v1/data-sources/{id}/revisions"): Sample(
        lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}/revisions")
    ),
    ("GET", "/api/v1/data-sources/{id}/revisions/{n}"): Sample(
        lambda source, n: Call("GET", f"/api/v1/data-sources/{source['id']}/revisions/1")
    ),
    ("GET", "/api/v1/data-sources/{id}/revisions/diff"): Sample(
        lambda source, n: Call(
            "GET", f"/api/v1/data-sources/{source['id']}/revisions/diff", params={"from": "1", "to": "2"}
        )
    ),
    ("POST", "/api/v1/data-sources/{id}/revisions/{n}/restore"): Sample(
        lambda source, n: Call(
            "POST",
            f"/api/v1/data-sources/{source['id']}/revisions/1/restore",
            headers={"if-match": f'"{source["rowVersion"]}"'},
        )
    ),
    ("GET", "/api/v1/audit-events"): Sample(
        lambda source, n: Call("GET", "/api/v1/audit-events", params={"limit": "100"}), targets_source=False
    ),
    # -- Foundation (000): x-org names the caller's tenant -------------------------------------------------------
    ("POST", "/api/data/data_source"): Sample(
        lambda source, n: Call(
            "POST",
            "/api/data/data_source",
            json={"entity": {"name": f"Foundation {n}", "entity_type": "origin", "label": "FDN"}},
            headers=org(source),
        ),
        targets_source=False,
    ),
    ("GET", "/api/data/data_source/list"): Sample(
        lambda source, n: Call("GET", "/api/data/data_source/list", headers=org(source)), targets_source=False
    ),
    ("GET", "/api/data/data_source"): Sample(
        lambda source, n: Call("GET", "/api/data/data_source", params={"identifier": source["id"]}, headers=org(source))
    ),
    ("PUT", "/api/data/data_source"): Sample(
        lambda source, n: Call(
            "PUT",
            "/api/data/data_source",
            params={"identifier": source["id"]},
            json={"entity": {"description": f"changed {n}"}},
            headers=org(source),
        )
    ),
    ("DELETE", "/api/data/data_source"): Sample(
        lambda source, n: Call(
            "DELETE", "/api/data/data_source", params={"identifier": source["id"]}, headers=org(source)
        )
    ),
    ("PUT", "/api/data/data_source/connection"): Sample(
        lambda source, n: Call(
            "PUT",
            "/api/data/data_source/connection",
            params={"identifier": source["id"]},
            json={
                "connection": {
                    "connection_type": "database",
                    "host": "127.0.0.1",
                    "port": 5432,
                    "database": "test",
                    "password": {"env_key": "DB_PASSWORD"},
                }
            },
            headers=org(source),
        )
    ),
    ("POST", "/api/data/data_source/secret"): Sample(
        lambda source, n: Call(
            "POST",
            "/api/data/data_source/secret",
            params={"identifier": source["id"]},
            json={"DB_PASSWORD": f"{MARKER}-env-{n}"},
            headers=org(source),
        )
    ),
    ("POST", "/api/data/data_system"): Sample(
        lambda source, n: Call(
            "POST", "/api/data/data_system", json={"entity": {"name": f"System {n}"}}, headers=org(source)
        ),
        targets_source=False,
    ),
    ("GET", "/api/data/data_system/list"): Sample(
        lambda source, n: Call("GET", "/api/data/data_system/list", headers=org(source)), targets_source=False
    ),
    ("GET", "/api/data/data_system"): Sample(
        lambda source, n: Call(
            "GET", "/api/data/data_system", params={"identifier": source["_systemId"]}, headers=org(source)
        )
    ),
    ("DELETE", "/api/data/data_system"): Sample(
        lambda source, n: Call(
            "DELETE", "/api/data/data_system", params={"identifier": source["_systemId"]}, headers=org(source)
        )
    ),
    ("POST", "/api/data/link/data_system/data_source"): Sample(
        lambda source, n: Call(
            "POST",
            "/api/data/link/data_system/data_source",
            params={"identifier": source["_systemId"], "child_identifier": source["id"]},
            headers=org(source),
        )
    ),
    # -- Public v1 (002) ---------------------------------------------------------------------------------------
    # -- RiverGen (001) -----------------------------------------------------------------------------------
    ("POST", "/rivergen/api/v1/data-sources"): Sample(
        lambda source, n: Call("POST", "/rivergen/api/v1/data-sources", json=create_body(n)), targets_source=False
    ),
    ("GET", "/rivergen/api/v1/data-sources"): Sample(
        lambda source, n: Call("GET", "/rivergen/api/v1/data-sources", params={"limit": "100"}), targets_source=False
    ),
    ("GET", "/rivergen/api/v1/data-sources/{id}"): Sample(
        lambda source, n: Call("GET", f"/rivergen/api/v1/data-sources/{source['id']}")
    ),
    ("PUT", "/rivergen/api/v1/data-sources/{id}"): Sample(
        lambda source, n: Call(
            "PUT",
            f"/rivergen/api/v1/data-sources/{source['id']}",
            json={
                "description": f"changed {n}",
                "port": 5433,
                "credentials": marked_credentials(f"new-{n}"),
                "row_version": source["rowVersion"],
            },
        )
    ),
    ("DELETE", "/rivergen/api/v1/data-sources/{id}"): Sample(
        lambda source, n: Call(
            "DELETE",
            f"/rivergen/api/v1/data-sources/{source['id']}",
            headers={"if-match": f'"{source["rowVersion"]}"'},
        )
    ),
    ("POST", "/rivergen/api/v1/data-sources/{id}/test-connection"): Sample(
        lambda source, n: Call("POST", f"/rivergen/api/v1/data-sources/{source['id']}/test-connection")
    ),
    ("POST", "/rivergen/api/v1/data-sources/{id}/discover-schema"): Sample(
        lambda source, n: Call("POST", f"/rivergen/api/v1/data-sources/{source['id']}/discover-schema")
    ),
    ("POST", "/api/public/v1/data-sources"): Sample(
        lambda source, n: Call(
            "POST",
            "/api/public/v1/data-sources",
            json={
                "name": f"public-{n}",
                "databaseType": "postgresql",
                "host": "127.0.0.1",
                "port": "5432",
                "databaseName": "test",
                "password": f"{MARKER}-public-{n}",
            },
        ),
        targets_source=False,
    ),
    ("GET", "/api/public/v1/data-sources/{id}"): Sample(
        lambda source, n: Call("GET", f"/api/public/v1/data-sources/{source['id']}")
    ),
    ("POST", "/api/public/v1/data-sources/by-ids"): Sample(
        lambda source, n: Call("POST", "/api/public/v1/data-sources/by-ids", json={"ids": [source["id"]]}),
        targets_source=False,  # another tenant's ids are left out of the answer rather than refused
        reads=True,
    ),
    ("POST", "/api/public/v1/data-sources/filter"): Sample(
        lambda source, n: Call("POST", "/api/public/v1/data-sources/filter", json={"resourceNames": ["Source*"]}),
        targets_source=False,
        reads=True,
    ),
    ("PATCH", "/api/public/v1/data-sources/{id}"): Sample(
        lambda source, n: Call(
            "PATCH",
            f"/api/public/v1/data-sources/{source['id']}",
            json={"description": f"patched {n}", "password": f"{MARKER}-patch-{n}"},
            headers={"if-match": f'"{source["rowVersion"]}"'},
        )
    ),
}


def org(source: dict[str, Any]) -> dict[str, str]:
    """000's x-org header: the organisation of the source's tenant."""
    return {"x-org": source["tenantId"]}


def routes() -> list[Route]:
    return load().routes()


def sample(route: Route) -> Sample:
    found = SAMPLES.get((route.method, route.path))
    assert found is not None, f"add a row for {route.method} {route.path} to SAMPLES in tests/prove/harness.py"
    return found


def new_source(client: httpx.Client, n: int | str) -> dict[str, Any]:
    """A source (canonical view) linked to a data system of its own (`_systemId`), for the system routes."""
    response = client.post("/api/v1/data-sources", json=create_body(n))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    headers = org(created)
    system = client.post("/api/data/data_system", json={"entity": {"name": f"System of {n}"}}, headers=headers)
    assert system.status_code == 200, system.text
    system_id = system.json()["entity"]["identifier"]
    params = {"identifier": system_id, "child_identifier": created["id"]}
    linked = client.post("/api/data/link/data_system/data_source", params=params, headers=headers)
    assert linked.status_code == 200, linked.text
    result: dict[str, Any] = client.get(f"/api/v1/data-sources/{created['id']}").json()
    result["_systemId"] = system_id
    return result


# -- stored state ---------------------------------------------------------------------------------------------
def readable(value: object) -> str:
    """json.dumps' default for DynamoDB items: binary attributes (gzip'd schema chunks, revisions) as their text."""
    if isinstance(value, bytes):
        import gzip

        try:
            return gzip.decompress(value).decode(errors="replace")
        except OSError:
            return value.decode(errors="replace")
    raise TypeError(type(value).__name__)


def table_items(aws: Any, tenant: str | None = None) -> list[dict[str, Any]]:
    dynamodb = aws.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": os.environ["TABLE_NAME"]}
    if tenant is not None:
        kwargs.update(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"T#{tenant}"}},
            ConsistentRead=True,
        )
    operation = dynamodb.query if tenant is not None else dynamodb.scan
    while True:
        page = operation(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def tenant_secrets(aws: Any, tenant: str) -> dict[str, dict[str, Any]]:
    """The tenant's secrets by ARN, with whether each is scheduled for deletion."""
    client = aws.client("secretsmanager")
    prefix = f"{os.environ['SECRET_PREFIX']}/{tenant}/"
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [prefix]}], "IncludePlannedDeletion": True}
    while True:
        page = client.list_secrets(**kwargs)
        for secret in page["SecretList"]:
            if secret["Name"].startswith(prefix):
                found[secret["ARN"]] = secret
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def secret_values(aws: Any, arn: str, version: str) -> dict[str, str]:
    values: dict[str, str] = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=arn, VersionId=version)["SecretString"]
    )
    return values


def records(aws: Any, tenant: str) -> dict[str, dict[str, Any]]:
    """The tenant's data source records by id, as stored (doc decoded)."""
    result = {}
    for item in table_items(aws, tenant):
        if item["sk"]["S"].startswith("DS#"):
            doc = json.loads(item["doc"]["S"])
            result[item["id"]["S"]] = {
                **doc,
                "id": item["id"]["S"],
                "rowVersion": int(item["rowVersion"]["N"]),
                "key": item["key"]["S"],
            }
    return result


def assert_consistent(aws: Any, tenant: str) -> None:
    """Nothing orphaned, nothing half-written: secrets, records, markers and the counter agree."""
    items = table_items(aws, tenant)
    stored = records(aws, tenant)
    secrets = tenant_secrets(aws, tenant)
    live = {arn for arn, secret in secrets.items() if "DeletedDate" not in secret}
    referenced = {record["secret_arn"] for record in stored.values() if record.get("secret_arn")}
    for record in stored.values():
        if record.get("secret_arn"):
            assert record["secret_arn"] in live, f"record {record['id']} points at a missing or deleted secret"
            secret_values(aws, record["secret_arn"], record["secret_version"])  # its pinned version is readable
    assert live <= referenced, f"secrets without a record: {sorted(live - referenced)}"
    by_key = {record["key"]: record for record in stored.values()}
    by_name = {name_identity(record["spec"]["name"]): record for record in stored.values()}
    for item in items:
        sort_key = item["sk"]["S"]
        if sort_key.startswith("KEY#"):
            assert sort_key[4:] in by_key and by_key[sort_key[4:]]["id"] == item["id"]["S"], f"stray {sort_key}"
        elif sort_key.startswith("NAME#"):
            assert sort_key[5:] in by_name and by_name[sort_key[5:]]["id"] == item["id"]["S"], f"stray {sort_key}"
        elif sort_key == "COUNT":
            assert int(item["n"]["N"]) == len(stored), "the counter disagrees with the records"
    markers = {item["sk"]["S"] for item in items}
    for record in stored.values():
        assert f"KEY#{record['key']}" in markers, f"record {record['id']} lost its key marker"
    assert_history_agrees(items, stored)


def revision_items(items: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The tenant's revision items by (source id, number)."""
    return {
        (item["dataSourceId"]["S"], int(item["number"]["N"])): item
        for item in items
        if item["sk"]["S"].startswith("REV#")
    }


def assert_history_agrees(items: list[dict[str, Any]], stored: dict[str, dict[str, Any]]) -> None:
    """No change without its revision, no revision without its change: revision n is the record's rowVersion n,
    numbered without gaps; a source that is gone ends with its `deleted` revision; each has its audit line."""
    revisions = revision_items(items)
    audit = {
        (item["dataSourceId"]["S"], int(item["number"]["N"]))
        for item in items
        if item["sk"]["S"].startswith("AUDIT#") and item["action"]["S"] != "secret-read"  # reads change nothing
    }
    assert audit == set(revisions), f"revisions and audit lines disagree: {sorted(audit ^ set(revisions))}"
    by_source: dict[str, list[int]] = {}
    for source_id, number in revisions:
        by_source.setdefault(source_id, []).append(number)
    for record in stored.values():
        numbers = sorted(by_source.get(record["id"], []))
        assert numbers == list(range(1, record["rowVersion"] + 1)), (
            f"record {record['id']} at rowVersion {record['rowVersion']} has revisions {numbers}"
        )
    for source_id, numbers in by_source.items():
        if source_id not in stored:
            last = revisions[(source_id, max(numbers))]
            assert last["action"]["S"] == "deleted", f"{source_id} is gone but its history does not end deleted"
            assert sorted(numbers) == list(range(1, max(numbers) + 1)), f"{source_id} has gaps: {sorted(numbers)}"
    for item in revisions.values():
        assert "expiresAt" in item, f"revision {item['sk']['S']} never expires"


# -- faults ------------------------------------------------------------------------------------------------
class FaultInjector:
    """Fails the Nth AWS call made by the handlers' clients (botocore `before-call`), or throttles one send.

    Or loses the response of the Nth call after it took effect: the request really reaches AWS, then the
    connection "closes" before the answer arrives (`before-send` sends it itself and raises botocore's
    ConnectionClosedError), `losses` sends in a row. botocore's standard retry mode then sends the very same
    request again, as it would after a network blip; past its attempts, the error reaches our adapters.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.lose_at: int | None = None
        self.losses_left = 0
        self.throttles_left = 0
        self.sends = 0
        self.injected = 0
        self._clients: list[Any] = []
        self._current = threading.local()  # which call this thread's next send belongs to
        self._http = URLLib3Session()

    def _attach(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._before_call, unique_id="prove-fault")
        client.meta.events.register("before-send.*.*", self._before_send, unique_id="prove-throttle")
        self._clients.append(client)

    def __enter__(self) -> FaultInjector:
        runtime.CLIENT_HOOKS.append(self._attach)
        for value in list(vars(runtime.services()).values()):  # clients built before we arrived
            if hasattr(value, "meta") and hasattr(value.meta, "events"):
                self._attach(value)
        return self

    def __exit__(self, *exc: object) -> None:
        runtime.CLIENT_HOOKS.remove(self._attach)
        for client in self._clients:
            client.meta.events.unregister("before-call.*.*", unique_id="prove-fault")
            client.meta.events.unregister("before-send.*.*", unique_id="prove-throttle")

    def arm(self, fail_at: int | None = None, throttles: int = 0, lose_at: int | None = None, losses: int = 0) -> None:
        with self._lock:
            self.calls, self.fail_at, self.throttles_left, self.sends = [], fail_at, throttles, 0
            self.lose_at, self.losses_left = lose_at, losses

    def _before_call(self, model: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append(model.name)
            self._current.call = len(self.calls)
            if self.fail_at is None or len(self.calls) != self.fail_at:
                return
            self.injected += 1
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected by the fault proof"}}, model.name)

    def _before_send(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        with self._lock:
            self.sends += 1
            lose = self.lose_at is not None and getattr(self._current, "call", None) == self.lose_at
            if lose and self.losses_left > 0:
                self.losses_left -= 1
                self.injected += 1
            else:
                lose = False
        if lose:
            delivered = self._http.send(request)  # it reaches AWS and takes effect ...
            assert delivered.status_code < 500, delivered.content
            raise ConnectionClosedError(endpoint_url=request.url)  # ... and its answer is lost
        with self._lock:
            if self.throttles_left <= 0:
                return None
            self.throttles_left -= 1
            self.injected += 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return AWSResponse(request.url, 400, {"content-type": "application/x-amz-json-1.1"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body
