"""Warm path: a list page of 25, ours beside a minimal plain-boto3 handler, on the same canned AWS responses.

26 data sources are created on the embedded AWS; the HTTP answers to the Query and GetItem our list handler makes
are recorded and then served to both handlers from a `before-send` hook: neither waits on the network, both
parse the same bytes. Ours is the real handler (Powertools decorators,
auth, repository, item validation, views); the plain one (bench/plain_lambda/plain_list.py) returns the items as
JSON. Warm: each handler has served requests before; blocks are interleaved; ratio of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("DS_ACCESS_LOG", "0")

from botocore.awsrequest import AWSResponse

from datasource_registry import runtime
from devserver.server import LocalApi
from devserver.template import ROOT
from tests.conftest import load_event

GOAL = 1.5


class _Raw:
    """What botocore reads an HTTP body from (urllib3's response, here from memory)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self.data


class Canned:
    """Records DynamoDB's HTTP answers, then serves them instead of sending: both handlers still parse them."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.serving = False

    def attach(self, client: Any) -> None:
        client.meta.events.register("needs-retry.dynamodb", self.record)
        client.meta.events.register("before-send.dynamodb", self.serve)

    def record(self, response: Any, operation: Any, **_: Any) -> None:
        if not self.serving and response is not None:
            http = response[0]
            self.answers[operation.name] = (http.status_code, dict(http.headers), http.content)

    def serve(self, request: Any, **_: Any) -> Any:
        if not self.serving:
            return None
        target = request.headers["X-Amz-Target"].decode().rsplit(".", 1)[1]
        status, headers, body = self.answers[target]
        return AWSResponse(request.url, status, headers, _Raw(body))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    canned = Canned()
    runtime.CLIENT_HOOKS.append(canned.attach)
    api = LocalApi.start()
    tenant = f"t_warm_{time.time_ns()}"
    create = load_event("create_data_source.json", tenant=tenant)
    for i in range(26):
        event = json.loads(json.dumps(create))
        body = json.loads(event["body"])
        event["body"] = json.dumps({**body, "name": f"Warm source {i}", "credentials": None})
        assert api.invoker.invoke("CreateDataSourceFunction", event)["statusCode"] == 201
    listing = load_event("list_data_sources.json", tenant=tenant)
    first = api.invoker.invoke("ListDataSourcesFunction", listing)
    assert first["statusCode"] == 200 and len(json.loads(first["body"])["data"]) == 25, first
    canned.serving = True

    sys.path.insert(0, str(ROOT / "bench" / "plain_lambda"))
    import plain_list  # its module-level client is the plain handler's, built at import

    plain_list.dynamodb.meta.events.register("before-send.dynamodb", canned.serve)
    subjects = {
        "ours": lambda: api.invoker.invoke("ListDataSourcesFunction", listing),
        "plain": lambda: plain_list.handler(listing, None),
    }
    for call in subjects.values():  # warm both up
        for _ in range(5):
            assert call()["statusCode"] == 200
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.rounds):
        for name, call in subjects.items():
            started = time.perf_counter()
            for _ in range(args.calls):
                call()
            samples[name].append((time.perf_counter() - started) / args.calls)
    api.aws.stop()
    plain = statistics.median(samples["plain"])
    print(f"{'warm list page of 25 (canned AWS answers)':44} {'median ms':>10} {'x plain':>8}")
    for name, values in samples.items():
        print(f"  {name:42} {statistics.median(values) * 1000:10.2f} {statistics.median(values) / plain:8.2f}")
    ratio = statistics.median(samples["ours"]) / plain
    print(f"warm list page: {ratio:.2f}x the plain handler (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
