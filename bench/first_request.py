"""Init + first request: a fresh execution environment per sample, ours beside a minimal plain-boto3 handler.

Both run from the built artifacts under devserver.artifacts' Lambda-like emulation, on the same embedded AWS, and
make the same AWS calls (bench/plain_lambda/: read by key 2 GetItem; list 1 GetItem + 1 Query; create 1 CreateSecret
+ 1 TransactWriteItems). A sample is timed from the process start to the first answer (what a caller waits for on a
cold start). Subjects are interleaved; ratios of medians are what to read. Ours runs with the template's tracing
(Active, X-Ray SDK on by default) and, beside it, with XRaySdkDisabled=true.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from devserver.aws import EmbeddedAws, free_port
from devserver.emulation import BUILD, LambdaWorker, XRayDaemon, built_functions, lambda_environment
from devserver.template import ROOT, load

PLAIN = Path(__file__).resolve().parent / "plain_lambda"
EVENTS = ROOT / "events"
GOAL = 1.3
CASES = {  # ours -> (plain handler, sample event)
    "GetDataSourceFunction": ("plain_get.handler", "get_data_source.json"),
    "ListDataSourcesFunction": ("plain_list.handler", "list_data_sources.json"),
    "CreateDataSourceFunction": ("plain_create.handler", "create_data_source.json"),
}


def event_for(name: str, round_: int) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    if name == "create_data_source.json":  # a new name each time: every sample creates
        body = json.loads(event["body"])
        body["name"] = f"Bench source {round_} {time.monotonic_ns()}"
        event["body"] = json.dumps(body)
    return event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--build", type=Path, default=BUILD)
    parser.add_argument("--before", type=Path, help="another sam build output, measured beside")
    args = parser.parse_args()
    template = load()
    aws = EmbeddedAws.start(free_port())
    refs = aws.provision(template)
    xray = XRayDaemon()
    built = built_functions(args.build)
    subjects: dict[str, tuple[Any, dict[str, str], str]] = {}
    for name, (plain_handler, event) in CASES.items():
        ours = built[name]
        env = lambda_environment(ours, refs, aws.endpoint_url, xray_address=xray.address, build=args.build)
        plain = replace(ours, logical_id=f"Plain{name}", task_root=PLAIN, handler=plain_handler, layers=())
        plain_env = lambda_environment(plain, refs, aws.endpoint_url, xray_address=xray.address, build=args.build)
        subjects[f"plain {name}"] = (plain, plain_env, event)
        subjects[f"ours {name}"] = (ours, env, event)
        subjects[f"ours, X-Ray SDK off {name}"] = (ours, {**env, "POWERTOOLS_TRACE_DISABLED": "true"}, event)
        if args.before:
            old = built_functions(args.before)[name]
            old_env = lambda_environment(old, refs, aws.endpoint_url, xray_address=xray.address, build=args.before)
            subjects[f"before {name}"] = (old, old_env, event)
    # The read cases find a data source, as in use.
    seed = LambdaWorker(built["CreateDataSourceFunction"], subjects["ours CreateDataSourceFunction"][1])
    seed.invoke(json.loads((EVENTS / "create_data_source.json").read_text()))  # the key the read samples name
    seed.stop()
    total: dict[str, list[float]] = {name: [] for name in subjects}
    init: dict[str, list[float]] = {name: [] for name in subjects}
    try:
        for round_ in range(args.rounds):
            for name, (function, env, event) in subjects.items():
                started = time.perf_counter()
                worker = LambdaWorker(function, env)
                answer = worker.invoke_raw(event_for(event, round_))
                total[name].append(time.perf_counter() - started)
                init[name].append(worker.init_ms / 1000)
                worker.stop()
                status = (answer.get("result") or {}).get("statusCode")
                if status not in {200, 201}:
                    raise SystemExit(f"{name}: {answer.get('errorType') or status}: {answer}")
    finally:
        aws.stop()
    print(f"{'init + first request (median ms)':44} {'init':>8} {'total':>8} {'x plain':>8}")
    worst: dict[str, float] = {}
    for name in subjects:
        kind, case = name.rsplit(" ", 1)
        plain_total = statistics.median(total[f"plain {case}"])
        ratio = statistics.median(total[name]) / plain_total
        if kind != "plain":
            worst[kind] = max(worst.get(kind, 0.0), ratio)
        print(
            f"  {kind + ' ' + case.removesuffix('Function'):42} {statistics.median(init[name]) * 1000:8.0f} "
            f"{statistics.median(total[name]) * 1000:8.0f} {ratio:8.2f}"
        )
    for kind, ratio in worst.items():
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"worst init + first request, {kind}: {ratio:.2f}x the plain handler (goal <= {GOAL}x: {verdict})")


if __name__ == "__main__":
    main()
