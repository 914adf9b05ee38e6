"""Faults at every AWS call of every write route: a failure changes nothing, a lost response answers the truth.

A call that fails before it is sent leaves stored state exactly as it was (503, retry). A call whose response is
lost after it took effect (botocore then sends it again, once or until its attempts run out) leaves the same
effect as a clean run and the same answer: the write happened once, its record and secret agree, rowVersion
advanced once, nothing is orphaned or dangling.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.prove.conftest import COUNTS, report
from tests.prove.harness import (
    WRITES,
    FaultInjector,
    assert_consistent,
    new_source,
    records,
    revision_items,
    routes,
    sample,
    secret_values,
    table_items,
)

WRITE_ROUTES = [route for route in routes() if route.method in WRITES]


@pytest.fixture
def faults(server):
    with FaultInjector() as injector:
        yield injector


def _snapshot(local_api, tenant: str) -> dict[str, Any]:
    state = records(local_api.aws, tenant)
    for record in state.values():
        if record.get("secret_arn"):
            record["secret"] = secret_values(local_api.aws, record["secret_arn"], record["secret_version"])
    # The configuration history too: a failed write leaves no revision, a repeated one does not write two.
    state["revisions"] = sorted(revision_items(table_items(local_api.aws, tenant)))
    return state


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_a_failure_at_any_aws_call_of_a_write_changes_nothing(local_api, api, tenant, faults, route):
    row = sample(route)
    # Given a source, When the write runs with no fault, Then we learn how many AWS calls it makes
    source = new_source(api, "counted")
    faults.arm()
    ok = row.build(source, 0).send(api)
    calls = len(faults.calls)
    assert ok.status_code < 300, ok.text
    if calls == 0:
        # Testing an unsaved configuration stores nothing: with no AWS call there is nothing to half-write.
        assert route.path.endswith("/test-connection") and "{id}" not in route.path, route
        report(f"[faults] {route.method} {route.path}: no AWS call, nothing to fail")
        return
    # When each of those calls fails in turn
    before = faults.injected
    for n in range(1, calls + 1):
        if row.targets_source:  # a collection route only takes the tenant from it: the first source serves
            source = new_source(api, f"f{n}")
        snapshot = _snapshot(local_api, tenant)
        call = row.build(source, n)
        faults.arm(fail_at=n)
        response = call.send(api)
        failed_call = faults.calls[n - 1] if len(faults.calls) >= n else None
        faults.arm()
        # Then the answer is a problem (503 for the AWS failure), and stored state is exactly as before
        assert response.status_code == 503, (n, failed_call, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 503
        assert _snapshot(local_api, tenant) == snapshot, f"call {n} ({failed_call}) left a half-write"
        assert_consistent(local_api.aws, tenant)
    COUNTS["faults injected"] += faults.injected - before
    report(f"[faults] {route.method} {route.path}: {calls} AWS calls, {faults.injected - before} faults injected")


def _effect(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a write did to the tenant's records, independent of ids and generated values."""
    changed = []
    before, after = dict(before), dict(after)
    revisions = len(after.pop("revisions")) - len(before.pop("revisions"))
    for source_id in sorted(before.keys() & after.keys()):
        old, new = before[source_id], after[source_id]
        if old == new:
            continue
        changed.append(
            (
                new["rowVersion"] - old["rowVersion"],
                old.get("secret_version") != new.get("secret_version"),
                sorted(new.get("secret", {})),
            )
        )
    created = sorted((after[i]["rowVersion"], sorted(after[i].get("secret", {}))) for i in after.keys() - before.keys())
    return {
        "deleted": len(before.keys() - after.keys()),
        "created": created,
        "changed": sorted(changed),
        "revisions written": revisions,
    }


# Lost once (botocore's next attempt gets the answer), and lost at every one of botocore's 5 attempts (the error
# reaches the adapter, whose own retry sends the same request again). Reads change nothing: a read that never
# answers is an honest 503, so the repeated loss is aimed at writes, where a repeat could be mistaken for a loss.
LOSSES = (1, 5)
READS = ("Get", "Query", "Scan", "BatchGet", "Describe", "List")


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_a_lost_response_at_any_aws_call_of_a_write_answers_what_happened(local_api, api, tenant, faults, route):
    row = sample(route)
    # Given a source, When the write runs cleanly, Then we learn its answer, its effect and its AWS calls
    source = new_source(api, "truth")
    before = _snapshot(local_api, tenant)
    faults.arm()
    clean = row.build(source, 0).send(api)
    calls = list(faults.calls)
    expected = _effect(before, _snapshot(local_api, tenant))
    assert clean.status_code < 300, clean.text
    injected = faults.injected
    for losses in LOSSES:
        for n in range(1, len(calls) + 1):
            if losses > 1 and calls[n - 1].startswith(READS):
                continue
            # When the response of call n is lost after the call took effect (`losses` times in a row), on a source of
            # its own (a collection route only takes the tenant from it: the first one serves)
            if row.targets_source:
                source = new_source(api, f"l{losses}-{n}")
            before = _snapshot(local_api, tenant)
            faults.arm(lose_at=n, losses=losses)
            response = row.build(source, losses * 1000 + n).send(api)
            lost_call = faults.calls[n - 1] if len(faults.calls) >= n else None
            faults.arm()
            # Then the answer is the clean run's, and so is the effect; nothing is orphaned or dangling
            where = f"response of call {n} ({lost_call}) lost {losses}x"
            assert response.status_code == clean.status_code, (where, response.status_code, response.text)
            assert _effect(before, _snapshot(local_api, tenant)) == expected, where
            assert_consistent(local_api.aws, tenant)
    COUNTS["lost responses injected"] += faults.injected - injected
    report(
        f"[faults] {route.method} {route.path}: {len(calls)} AWS calls, "
        f"{faults.injected - injected} responses lost after taking effect"
    )


def test_a_throttled_aws_call_is_retried_with_backoff_and_the_write_succeeds(local_api, api, tenant, faults):
    # Given the first AWS request of a create is throttled
    faults.arm(throttles=1)
    # When the create is sent
    response = new_source(api, "throttled")
    COUNTS["faults injected"] += 1
    # Then botocore's standard retry mode sent it again and the create succeeded, consistently
    assert faults.sends > len(faults.calls)
    assert response["rowVersion"] == 2  # created, then linked to its data system
    assert_consistent(local_api.aws, tenant)


def test_the_local_dynamodb_honours_a_transaction_s_client_request_token_as_aws_does(local_api, tenant):
    # Given a transaction that committed under a ClientRequestToken
    dynamodb = local_api.aws.client("dynamodb")
    table = os.environ["TABLE_NAME"]
    key = {"pk": {"S": f"T#{tenant}"}, "sk": {"S": "TOKEN#probe"}}
    put = {
        "Put": {"TableName": table, "Item": {**key, "n": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}
    }
    token = str(uuid.uuid4())
    dynamodb.transact_write_items(TransactItems=[put], ClientRequestToken=token)
    # When the same request is sent again with the same token (a retry after a lost response)
    dynamodb.transact_write_items(TransactItems=[put], ClientRequestToken=token)
    # Then it succeeds without writing again, and the token with another request is refused
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    other = {"Put": {**put["Put"], "Item": {**key, "n": {"N": "2"}}}}
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[other], ClientRequestToken=token)
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    # And without a token a repeat is a new request, whose condition now fails
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[put])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    dynamodb.delete_item(TableName=table, Key=key)


def test_the_local_secrets_manager_honours_client_request_tokens_and_refuses_deleted_secrets(local_api, tenant):
    client = local_api.aws.client("secretsmanager")
    name, token = f"{os.environ['SECRET_PREFIX']}/{tenant}/probe", str(uuid.uuid4())
    # Given a secret created under a ClientRequestToken, When the same create is sent again (a lost response)
    first = client.create_secret(Name=name, SecretString='{"a": "1"}', ClientRequestToken=token)
    again = client.create_secret(Name=name, SecretString='{"a": "1"}', ClientRequestToken=token)
    # Then it answers the same secret and version, and the same token with another value is refused
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    with pytest.raises(ClientError):
        client.put_secret_value(SecretId=first["ARN"], SecretString='{"a": "2"}', ClientRequestToken=token)
    # And once marked for deletion it takes no new version, as AWS refuses it
    client.delete_secret(SecretId=first["ARN"], RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as refused:
        client.put_secret_value(SecretId=first["ARN"], SecretString='{"a": "3"}', ClientRequestToken=str(uuid.uuid4()))
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    client.delete_secret(SecretId=first["ARN"], ForceDeleteWithoutRecovery=True)
