"""Where init + first request goes: the list case, from the plain handler up to ours, one dependency at a time.

Beside bench.first_request (whose baseline it does not change): the same emulation, embedded AWS and calls, with
handlers that add, one at a time, what ours cannot do without (bench/floor_lambda/): botocore's session instead of
boto3, then pydantic (imported, one model built), then Powertools Logger and Metrics. What is left between the last
of them and ours is our own code. Each sample also reads the worker's CPU time (rusage: start, init, first request),
the steadier figure on a busy machine. Subjects are interleaved; medians and ratios to the plain handler.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.first_request import PLAIN, event_for
from devserver.aws import EmbeddedAws, free_port
from devserver.emulation import BUILD, LambdaWorker, XRayDaemon, built_functions, lambda_environment
from devserver.template import load

FLOOR = Path(__file__).resolve().parent / "floor_lambda"
STEPS = {  # label -> (task root, handler)
    "plain (boto3)": (PLAIN, "plain_list.handler"),
    "botocore session": (FLOOR, "botocore_list.handler"),
    "+ pydantic": (FLOOR, "pydantic_list.handler"),
    "+ Powertools Logger, Metrics": (FLOOR, "powertools_list.handler"),
}


def sample(function: Any, env: dict[str, str], round_: int) -> tuple[float, float]:
    """(wall, cpu) seconds from the process start to its first answer."""
    started = time.perf_counter()
    worker = LambdaWorker(function, env)
    answer = worker.invoke_raw(event_for("list_data_sources.json", round_))
    wall = time.perf_counter() - started
    worker.process.kill()
    _, _, usage = os.wait4(worker.process.pid, 0)
    worker.process.returncode = -9
    worker.stop()
    if (answer.get("result") or {}).get("statusCode") != 200:
        raise SystemExit(f"{function.logical_id}: {answer}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--build", type=Path, default=BUILD)
    args = parser.parse_args()
    aws = EmbeddedAws.start(free_port())
    refs = aws.provision(load())
    xray = XRayDaemon()
    ours = built_functions(args.build)["ListDataSourcesFunction"]
    ours_env = lambda_environment(ours, refs, aws.endpoint_url, xray_address=xray.address, build=args.build)
    subjects: dict[str, tuple[Any, dict[str, str]]] = {}
    for label, (root, handler) in STEPS.items():
        # The layers only where a step imports from them (plain has the runtime's boto3 alone, as in Lambda).
        layers = () if root == PLAIN or handler.startswith("botocore") else ours.layers
        step = replace(ours, logical_id=f"Floor{len(subjects)}", task_root=root, handler=handler, layers=layers)
        env = lambda_environment(step, refs, aws.endpoint_url, xray_address=xray.address, build=args.build)
        subjects[label] = (step, {**env, "POWERTOOLS_TRACE_DISABLED": "true"})
    subjects["ours, X-Ray SDK off"] = (ours, {**ours_env, "POWERTOOLS_TRACE_DISABLED": "true"})
    subjects["ours"] = (ours, ours_env)
    create = built_functions(args.build)["CreateDataSourceFunction"]
    seed = LambdaWorker(create, lambda_environment(create, refs, aws.endpoint_url, build=args.build))
    seed.invoke(event_for("create_data_source.json", 0))  # ours lists a source, as in bench.first_request
    seed.stop()
    walls: dict[str, list[float]] = {name: [] for name in subjects}
    cpus: dict[str, list[float]] = {name: [] for name in subjects}
    try:
        for round_ in range(args.rounds):
            for name, (function, env) in subjects.items():
                wall, cpu = sample(function, env, round_)
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        aws.stop()
    plain_wall = statistics.median(walls["plain (boto3)"])
    plain_cpu = statistics.median(cpus["plain (boto3)"])
    print(f"{'init + first request, list (median ms)':40} {'wall':>7} {'x plain':>8} {'cpu':>7} {'x plain':>8}")
    for name in subjects:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"  {name:38} {wall * 1000:7.0f} {wall / plain_wall:8.2f} {cpu * 1000:7.0f} {cpu / plain_cpu:8.2f}")


if __name__ == "__main__":
    main()
