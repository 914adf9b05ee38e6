"""AWS calls per request, counted with botocore's event hooks on the clients the handlers really use."""

from __future__ import annotations

import collections
import os
from typing import Any

import boto3
import httpx

os.environ.setdefault("DS_ACCESS_LOG", "0")

from datasource_registry.runtime import Services, Settings, use_services
from devserver import tokens
from devserver.server import LocalApi, LocalServer

BASE = "/api/v1/data-sources"


class CallCounter:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.calls)
        self.calls.clear()
        return taken


def main() -> None:
    api = LocalApi.start()
    server = LocalServer(api, 0).start()
    counter = CallCounter()
    session = boto3.Session()
    session.events.register("before-call.*.*", counter)
    use_services(Services(Settings.from_environment(), session=session))
    client = httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {tokens.issue('t_bench', 'editor')}"}, timeout=30
    )
    body = {
        "name": "Bench PostgreSQL",
        "type": "postgresql",
        "host": "db.example.com",
        "port": 5432,
        "databaseName": "bench",
        "credentials": {"username": "u", "password": "p"},
    }
    rows: list[tuple[str, int, dict[str, int]]] = []

    def run(label: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = client.request(method, url, **kwargs)
        rows.append((label, response.status_code, counter.take()))
        return response

    created = run("create (with credentials)", "POST", BASE, json=body).json()
    for i in range(30):
        client.post(BASE, json={**body, "name": f"filler {i}", "credentials": None})
    counter.take()
    run("get by id", "GET", f"{BASE}/{created['id']}")
    run("get by key", "GET", f"{BASE}/{created['key']}")
    first = run("list, first page (limit 25)", "GET", BASE).json()
    run("list, next page", "GET", BASE, params={"cursor": first["pagination"]["nextCursor"]})
    run("update (no credentials)", "PUT", BASE, json={"key": created["key"], "description": "x"})
    run("update (rename)", "PUT", BASE, json={"key": created["key"], "name": "Renamed"})
    run("update (rotate password)", "PUT", BASE, json={"key": created["key"], "credentials": {"password": "q"}})
    run("delete", "DELETE", BASE, params={"key": created["key"]})

    print(f"{'request':32} {'status':>6} {'dynamodb':>9} {'secrets':>8}  calls")
    for label, status, calls in rows:
        ddb = sum(n for name, n in calls.items() if name.startswith("dynamodb"))
        sm = sum(n for name, n in calls.items() if name.startswith("secretsmanager"))
        detail = ", ".join(f"{name.split('.', 1)[1]} x{n}" for name, n in sorted(calls.items()))
        print(f"{label:32} {status:>6} {ddb:>9} {sm:>8}  {detail}")
    server.stop()
    api.aws.stop()


if __name__ == "__main__":
    main()
