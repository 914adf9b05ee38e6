"""The local EventBridge Scheduler and SQS event source: tick scheduled functions, drain queues into their workers.

Read from template.yaml like the routes: every function with a `ScheduleV2` event is invoked with its `Input`
(the scheduler's `<aws.scheduler.scheduled-time>` filled in), and every function with an `SQS` event gets that
queue's messages as SQS events of at most its BatchSize. As the Lambda event source mapping does, messages the
handler reports in `batchItemFailures` (or all of them, when the handler raises) are left for redelivery after
the visibility timeout, and the queue's redrive policy moves them to the dead-letter queue in time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devserver.aws import EmbeddedAws
from devserver.lambdas import Invoker
from devserver.template import REGION, Template, physical_name

log = logging.getLogger("devserver.scheduler")

DEFAULT_INTERVAL_SECONDS = 20.0  # AWS ticks every minute; locally a new source is checked sooner
MAX_ROUNDS = 1000  # one drain stops after this many receives, so a hot queue cannot hold the tick forever


@dataclass
class DrainReport:
    received: int = 0
    failed: int = 0
    deleted: int = 0


class LocalScheduler:
    def __init__(self, aws: EmbeddedAws, template: Template, invoker: Invoker) -> None:
        self.aws = aws
        self.invoker = invoker
        self.schedules: dict[str, str] = {}  # function -> Input
        self.queues: dict[str, tuple[str, int]] = {}  # function -> (queue logical id, batch size)
        for name, function in template.functions().items():
            for event in function.events.values():
                props = event.get("Properties", {})
                if event.get("Type") == "ScheduleV2":
                    self.schedules[name] = props.get("Input", "{}")
                elif event.get("Type") == "SQS":
                    queue = props["Queue"]["Fn::GetAtt"][0]
                    self.queues[name] = (queue, int(props.get("BatchSize", 10)))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one tick ------------------------------------------------------------------------------------------
    def scheduled_event(self, function: str, now: datetime | None = None) -> dict[str, Any]:
        moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event: dict[str, Any] = json.loads(self.schedules[function].replace("<aws.scheduler.scheduled-time>", moment))
        return event

    def sweep(self) -> dict[str, Any]:
        """Invoke every scheduled function once, as one scheduler tick does; returns their results."""
        return {name: self.invoker.invoke(name, self.scheduled_event(name)) for name in self.schedules}

    def queue_url(self, function: str) -> str:
        queue, _ = self.queues[function]
        return str(self.aws.client("sqs").get_queue_url(QueueName=physical_name(queue))["QueueUrl"])

    def drain(self, visibility_timeout: int | None = None) -> DrainReport:
        """Deliver every visible message to its worker until the queues are empty (of visible messages)."""
        report = DrainReport()
        sqs = self.aws.client("sqs")
        for function, (queue, batch_size) in self.queues.items():
            url = self.queue_url(function)
            arn = f"arn:aws:sqs:{REGION}:123456789012:{physical_name(queue)}"
            for _ in range(MAX_ROUNDS):
                receive: dict[str, Any] = {
                    "QueueUrl": url,
                    "MaxNumberOfMessages": min(batch_size, 10),
                    "AttributeNames": ["All"],
                    "WaitTimeSeconds": 0,
                }
                if visibility_timeout is not None:
                    receive["VisibilityTimeout"] = visibility_timeout
                messages = sqs.receive_message(**receive).get("Messages", [])
                if not messages:
                    break
                report.received += len(messages)
                failed = self._deliver(function, [sqs_record(m, arn) for m in messages])
                done = [m for m in messages if m["MessageId"] not in failed]
                report.failed += len(messages) - len(done)
                if done:
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                    )
                    report.deleted += len(done)
        return report

    def _deliver(self, function: str, records: list[dict[str, Any]]) -> set[str]:
        """Ids the worker failed: its batchItemFailures, or every record when the invocation itself failed."""
        try:
            result = self.invoker.invoke(function, {"Records": records})
        except Exception:
            log.exception("%s failed; its %d message(s) will be redelivered", function, len(records))
            return {record["messageId"] for record in records}
        failures = (result or {}).get("batchItemFailures", [])
        return {failure["itemIdentifier"] for failure in failures}

    def tick(self) -> DrainReport:
        self.sweep()
        return self.drain()

    # -- in the background (make serve) --------------------------------------------------------------------
    def start(self, interval_seconds: float = DEFAULT_INTERVAL_SECONDS) -> LocalScheduler:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    report = self.tick()
                    if report.received:
                        log.info("schema refresh queue: %s", report)
                except Exception:
                    log.exception("the local scheduler tick failed")
                self._stop.wait(interval_seconds)

        self._thread = threading.Thread(target=loop, name="local-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received message as the Lambda SQS event source delivers it."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", hashlib.md5(body.encode()).hexdigest()),  # noqa: S324  # SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def start_local_scheduler(api: Any) -> LocalScheduler | None:
    """`make serve`'s scheduler: every DS_SWEEP_INTERVAL_SECONDS (default 20; 0 turns it off)."""
    import os

    interval = float(os.environ.get("DS_SWEEP_INTERVAL_SECONDS", DEFAULT_INTERVAL_SECONDS))
    if interval <= 0:
        return None
    if not log.handlers:  # our own handler: the root logger's INFO would print every botocore credential lookup
        log.addHandler(logging.StreamHandler())
        log.setLevel(logging.INFO)
    print(f"  schema refresh sweep every {interval:g} s (DS_SWEEP_INTERVAL_SECONDS)", flush=True)
    return LocalScheduler(api.aws, api.template, api.invoker).start(interval)
