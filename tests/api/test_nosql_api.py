"""MongoDB and Cassandra sources through the HTTP API and the nosql runner: tested, discovered and versioned.

MongoDB against NX-27017 (a MongoDB wire protocol server from PyPI); Cassandra against the local CQL listener
(tests/connectors/cql_listener.py: a listener speaking enough of the protocol, not a Cassandra server).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.connectors.cql_listener import cql_listener
from tests.connectors.nx27017 import nx27017
from tests.connectors.test_cassandra import schema_tables

BASE = "/api/v1/data-sources"
pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def mongo_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with nx27017(tmp_path_factory.mktemp("nx27017")) as port:
        yield port


def test_a_mongodb_source_is_tested_and_discovered_through_the_runner(api: Any, mongo_port: int) -> None:
    import pymongo

    database = f"api_{uuid.uuid4().hex[:8]}"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient("127.0.0.1", mongo_port, directConnection=True)
    client[database].events.insert_many([{"kind": "click", "at": 1}, {"kind": "view", "meta": {"page": "/"}}])
    try:
        body = {"name": f"Mongo {database}", "type": "mongodb", "host": "127.0.0.1", "port": mongo_port}
        created = api.post(BASE, json={**body, "databaseName": database}).json()

        tested = api.post(f"{BASE}/{created['id']}/test-connection")
        first = api.post(f"{BASE}/{created['id']}/discover-schema")
        client[database].events.insert_one({"kind": "buy", "amount": 9.5})
        second = api.post(f"{BASE}/{created['id']}/discover-schema").json()

        assert tested.status_code == 200, tested.text
        assert tested.json()["success"] is True and tested.json()["serverVersion"] == "MongoDB 7.0.0"
        assert first.status_code == 200, first.text
        assert (first.json()["version"], first.json()["tableCount"]) == (1, 1)
        assert (second["version"], second["changed"], second["diff"]["columnsAdded"]) == (2, True, 1)
        schema = api.get(f"{BASE}/{created['id']}/schema").json()
        (table,) = schema["tables"]
        assert table["name"] == "events" and table["primaryKey"] == ["_id"]
    finally:
        client.drop_database(database)
        client.close()


def test_a_cassandra_source_is_tested_and_discovered_through_the_runner(api: Any) -> None:
    with cql_listener(credentials=("reader", "cassandra-secret-never-shown")) as server:
        server.tables = schema_tables(server.port)
        body = {
            "name": f"Cassandra {uuid.uuid4().hex[:8]}",
            "type": "cassandra",
            "host": "127.0.0.1",
            "port": server.port,
            "credentials": {"username": "reader", "password": "cassandra-secret-never-shown"},
        }
        created = api.post(BASE, json=body).json()

        tested = api.post(f"{BASE}/{created['id']}/test-connection")
        discovered = api.post(f"{BASE}/{created['id']}/discover-schema")

    assert tested.status_code == 200, tested.text
    assert tested.json()["success"] is True and tested.json()["serverVersion"] == "Cassandra 4.1.5"
    assert discovered.status_code == 200, discovered.text
    assert discovered.json()["tableCount"] == 4
    assert "reader" in server.logins
    assert "cassandra-secret-never-shown" not in tested.text + discovered.text


def test_a_wrong_cassandra_password_is_auth_failed_through_the_api(api: Any) -> None:
    with cql_listener(credentials=("reader", "the-right-one")) as server:
        body = {"name": "Cassandra wrong", "type": "cassandra", "host": "127.0.0.1", "port": server.port}
        tested = api.post(
            f"{BASE}/test-connection", json={**body, "credentials": {"username": "reader", "password": "nope-wrong-pw"}}
        )

    assert tested.status_code == 200, tested.text
    assert tested.json()["errorCode"] == "AUTH_FAILED"
