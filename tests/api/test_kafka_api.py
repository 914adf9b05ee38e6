"""A Kafka source (003's connectorKey, no type) through the HTTP API: stored, its SASL password moved to Secrets
Manager, then tested and discovered against the real Tansu broker (tests/connectors/test_kafka.py starts it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import unique
from tests.connectors.test_kafka import Broker, _start_broker, _topics

BASE = "/api/v1/data-sources"
PASSWORD = "Kafka-Sasl-Secret-42"


@pytest.fixture(scope="module")
def plain_broker() -> Iterator[Broker]:
    started = _start_broker()
    yield started
    started.process.terminate()
    started.process.wait(10)


@pytest.fixture(scope="module")
def sasl_only_broker() -> Iterator[Broker]:
    started = _start_broker("--authentication")
    yield started
    started.process.terminate()
    started.process.wait(10)


def test_a_kafka_source_is_tested_and_discovered_through_the_api(api, plain_broker: Broker) -> None:
    topic = unique("orders")
    _topics(plain_broker, {topic: [json.dumps({"id": 1, "sku": "a"}).encode()]}, partitions=1)
    body = {
        "name": "Orders stream",
        "connectorKey": "kafka",
        "sourceConfig": {"bootstrapServers": plain_broker.bootstrap, "topics": [topic]},
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["connectorKey"], created.json()["type"]) == ("kafka", None)
    source_id = created.json()["id"]

    tested = api.post(f"{BASE}/{source_id}/test-connection")
    assert tested.status_code == 200, tested.text
    assert tested.json()["success"] is True, tested.json()

    discovered = api.post(f"{BASE}/{source_id}/discover-schema")
    assert discovered.status_code == 200, discovered.text
    assert discovered.json()["tableCount"] == 1
    tables = api.get(f"{BASE}/{source_id}/schema").json()["tables"]
    assert tables[0]["name"] == topic
    assert {c[0] if isinstance(c, list) else c["name"] for c in tables[0]["columns"]} >= {"id", "sku", "offset"}


def test_the_sasl_password_is_stored_as_a_secret_and_reaches_the_broker(api, sasl_only_broker: Broker) -> None:
    body = {
        "name": "Secured stream",
        "connectorKey": "kafka",
        "sourceConfig": {
            "bootstrapServers": sasl_only_broker.bootstrap,
            "securityProtocol": "SASL_PLAINTEXT",
            "saslMechanism": "SCRAM-SHA-512",
            "saslUsername": "reader",
            "saslPassword": PASSWORD,
        },
        "connectionTimeout": 10,
    }
    created = api.post(BASE, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["sourceConfig"]["saslPassword"] != PASSWORD  # shown as a placeholder

    tested = api.post(f"{BASE}/{created.json()['id']}/test-connection")
    # the broker knows no such user: the password was read back from Secrets Manager and offered (AUTH_FAILED,
    # not INVALID_CONFIG "needs saslPassword"), and it is in no answer
    assert tested.json()["errorCode"] == "AUTH_FAILED", tested.json()
    assert PASSWORD not in tested.text
    assert PASSWORD not in api.get(f"{BASE}/{created.json()['id']}").text
