"""The template deploys the schedule, queue, dead-letter queue, bus and due index with least-privilege policies."""

from __future__ import annotations

import json

from devserver.template import load


def resources() -> dict:
    return load().resources


def test_the_sweeper_ticks_every_minute_and_may_only_query_the_due_index_and_claim():
    sweeper = resources()["SweepDueRefreshesFunction"]["Properties"]
    tick = sweeper["Events"]["Tick"]
    assert tick["Type"] == "ScheduleV2"
    assert tick["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    statements = sweeper["Policies"][0]["Statement"]
    assert {s["Action"] for s in statements} == {"dynamodb:Query", "dynamodb:UpdateItem"}
    assert "/index/RefreshDue" in json.dumps(statements[0]["Resource"])
    assert "dynamodb:Scan" not in json.dumps(sweeper["Policies"])


def test_the_worker_reports_partial_batch_failures_and_the_queue_dead_letters_after_five_receives():
    worker = resources()["RefreshSchemaFunction"]["Properties"]
    queue_event = worker["Events"]["Queue"]["Properties"]
    assert queue_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources()["SchemaRefreshQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["SchemaRefreshDeadLetterQueue", "Arn"]}
    # Lambda's advice for SQS sources: visibility at least six times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert resources()["DataSourceEventBus"]["Type"] == "AWS::Events::EventBus"


def test_the_due_index_is_sparse_and_keys_only():
    indexes = resources()["DataSourcesTable"]["Properties"]["GlobalSecondaryIndexes"]
    index = next(i for i in indexes if i["IndexName"] == "RefreshDue")
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["dueShard", "dueAt"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
