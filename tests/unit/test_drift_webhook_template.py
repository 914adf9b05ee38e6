"""The drift webhook option in template.yaml: off by default, and when on, the rule takes exactly the events the
code emits to an API destination, through a role that may only invoke it, with the auth value kept secret."""

from __future__ import annotations

import json
import re
from typing import Any

from moto.events.models import EventPattern

from datasource_registry.adapters.events import EVENT_SOURCE, EventBridgePublisher
from datasource_registry.domain.refresh_service import HEALTH_CHANGED, SCHEMA_CHANGED
from devserver.template import load

WEBHOOK = ("DriftWebhookConnection", "DriftWebhookDestination", "DriftWebhookRole", "DriftWebhookRule")


def document() -> dict[str, Any]:
    return load().document


def evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """The few intrinsic functions a condition here uses, as CloudFormation evaluates them."""
    if isinstance(expression, dict):
        ((name, value),) = expression.items()
        if name == "Ref":
            return parameters[value]
        if name == "Fn::Equals":
            left, right = (evaluate(v, parameters) for v in value)
            return left == right
        if name == "Fn::Not":
            return not evaluate(value[0], parameters)
        raise AssertionError(f"unexpected intrinsic {name}")
    return expression


def defaults() -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in document()["Parameters"].items()}


class RecordingEventsClient:
    """Stands in for boto3's EventBridge client: keeps the entries put, answers as PutEvents does."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}


def delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """The event a rule sees for a PutEvents entry."""
    return {
        "version": "0",
        "id": "1",
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "account": "123456789012",
        "time": "2026-11-23T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def test_the_webhook_is_off_by_default_and_on_with_a_url():
    condition = document()["Conditions"]["DriftWebhookOn"]
    resources = document()["Resources"]

    assert {name: resources[name]["Condition"] for name in WEBHOOK} == dict.fromkeys(WEBHOOK, "DriftWebhookOn")
    assert evaluate(condition, defaults()) is False
    assert evaluate(condition, {**defaults(), "DriftWebhookUrl": "https://hooks.example.com/drift"}) is True
    # nothing else refers to them, so switching off removes the whole chain
    others = {name: spec for name, spec in resources.items() if name not in WEBHOOK}
    assert not any(name in json.dumps(others) for name in WEBHOOK)


def test_the_rule_matches_the_events_the_code_emits_and_nothing_else():
    rule = document()["Resources"]["DriftWebhookRule"]["Properties"]
    pattern = EventPattern(json.dumps(rule["EventPattern"]), rule["EventPattern"])
    client = RecordingEventsClient()
    publisher = EventBridgePublisher(client, "bus")  # type: ignore[arg-type]

    publisher.publish(SCHEMA_CHANGED, {"tenantId": "t1", "severityCounts": {"breaking": 1, "nonBreaking": 0}})
    publisher.publish(HEALTH_CHANGED, {"tenantId": "t1", "current": {"healthy": False}})
    publisher.publish("DataSourceDeleted", {"tenantId": "t1"})
    foreign = {**client.entries[0], "Source": "someone-else"}

    matched = [pattern.matches_event(delivered(entry)) for entry in [*client.entries, foreign]]
    assert matched == [True, True, False, False]
    assert rule["EventBusName"] == {"Ref": "DataSourceEventBus"}
    assert rule["EventPattern"]["source"] == [EVENT_SOURCE]


def test_the_target_is_the_api_destination_through_a_role_that_may_only_invoke_it():
    resources = document()["Resources"]
    (target,) = resources["DriftWebhookRule"]["Properties"]["Targets"]
    role = resources["DriftWebhookRole"]["Properties"]
    destination = resources["DriftWebhookDestination"]["Properties"]

    assert target["Arn"] == {"Fn::GetAtt": ["DriftWebhookDestination", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["DriftWebhookRole", "Arn"]}
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": {"Fn::GetAtt": ["DriftWebhookDestination", "Arn"]},
        }
    ]
    assert destination["InvocationEndpoint"] == {"Ref": "DriftWebhookUrl"}
    assert destination["ConnectionArn"] == {"Fn::GetAtt": ["DriftWebhookConnection", "Arn"]}
    assert destination["HttpMethod"] == "POST"


def test_the_auth_value_is_no_echo_and_required_with_a_url():
    parameters = document()["Parameters"]
    connection = document()["Resources"]["DriftWebhookConnection"]["Properties"]
    rule = document()["Rules"]["DriftWebhookNeedsAuth"]

    assert parameters["DriftWebhookAuthValue"]["NoEcho"] is True
    api_key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    assert api_key["ApiKeyName"] == {"Ref": "DriftWebhookAuthHeader"}
    assert "DriftWebhookAuthValue" in json.dumps(api_key["ApiKeyValue"])
    with_url = {**defaults(), "DriftWebhookUrl": "https://hooks.example.com/drift"}
    assert evaluate(rule["RuleCondition"], defaults()) is False
    assert evaluate(rule["RuleCondition"], with_url) is True
    (assertion,) = rule["Assertions"]
    assert evaluate(assertion["Assert"], with_url) is False  # an empty value is refused
    assert evaluate(assertion["Assert"], {**with_url, "DriftWebhookAuthValue": "Bearer t"}) is True


def test_the_url_is_empty_or_https():
    allowed = re.compile(document()["Parameters"]["DriftWebhookUrl"]["AllowedPattern"])

    assert [bool(allowed.fullmatch(url)) for url in ("", "https://h.example.com/x?a=1", "http://h.example.com")] == [
        True,
        True,
        False,
    ]
    assert not allowed.fullmatch("https://h.example.com/a b")
