"""Cold start: each handler's import in a fresh interpreter, side by side with `import boto3; boto3.client(...)`.

Two settings, each with its own baseline:
- **built** (the figure that counts): the artifacts `sam build` made, under the Lambda-like emulation of
  devserver.artifacts (`python -S`, the layers' bytecode, boto3 from the runtime stand-in, LAMBDA_TASK_ROOT set,
  no bytecode written, the template's environment with tracing as deployed); the baseline runs there too.
- **venv**: the source tree in the project's virtualenv (what the tests run), for comparison.

Runs are interleaved (baseline, handler 1, handler 2, ... then again) so machine noise hits all alike; the
ratios (handler / baseline, medians) are what to read, not the absolute milliseconds. Needs `make sam-build` and
`make lambda-runtime` for the built figures (skipped with a note otherwise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from devserver.aws import function_environment
from devserver.emulation import (
    BUILD,
    LAMBDA_RUNTIME,
    PYTHON,
    built_functions,
    lambda_environment,
)
from devserver.emulation import (
    EVENTS as ROOT_EVENTS,
)
from devserver.template import load

BASELINE = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
TIMER = "import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"
GOAL = 1.25


def venv_import(path: str) -> str:
    return (
        f"import importlib.util as u; s = u.spec_from_file_location('handler', {path!r}); "
        "m = u.module_from_spec(s); s.loader.exec_module(m)"
    )


def measure(command: list[str], code: str, env: dict[str, str]) -> float:
    out = subprocess.run([*command, "-c", TIMER.format(code=code)], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def subjects(builds: dict[str, Path]) -> dict[str, tuple[list[str], str, dict[str, str]]]:
    """name -> (interpreter command, code, environment); a 'baseline' subject per setting."""
    template = load()
    found: dict[str, tuple[list[str], str, dict[str, str]]] = {}
    venv_env = {**os.environ, **function_environment(template, {}), "AWS_DEFAULT_REGION": "us-east-1"}
    venv_env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    venv_env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    venv_env["POWERTOOLS_TRACE_DISABLED"] = "false"  # as in Lambda with Tracing: Active
    found["venv baseline"] = ([sys.executable], BASELINE, venv_env)
    for name, function in sorted(template.functions().items()):
        module = function.handler.rsplit(".", 1)[0]
        found[f"venv {name}"] = ([sys.executable], venv_import(str(function.code_uri / f"{module}.py")), venv_env)
    emulated = [PYTHON, "-S", "-B", "-P"]
    for setting, build in builds.items():
        if not (build / "template.yaml").exists() or not LAMBDA_RUNTIME.is_dir():
            print(f"no built artifacts in {build} (make sam-build lambda-runtime): {setting} figures skipped")
            continue
        for name, function in sorted(built_functions(build).items()):
            env = lambda_environment(function, {}, "http://127.0.0.1:9", build=build)  # nothing is called at import
            if "built baseline" not in found:
                found["built baseline"] = (emulated, BASELINE, {**env, "PYTHONPATH": str(LAMBDA_RUNTIME)})
            module = function.handler.rsplit(".", 1)[0]
            found[f"{setting} {name}"] = (emulated, f"import importlib; importlib.import_module({module!r})", env)
    return found


def runner_cold_starts(rounds: int, build: Path = BUILD) -> None:
    """Each connector runner from a fresh process: its import (init) and its first call, events/runner_*.json
    against the local PostgreSQL, Redis and a parquet file, a Delta and a Hudi table on a moto S3; built artifacts when there are some."""
    import json

    from devserver.artifacts import (
        BuiltInvoker,
        LambdaWorker,
        built_runner_factory,
        put_sample_parquet,
        put_sample_tables,
    )
    from devserver.aws import EmbeddedAws, free_port
    from devserver.runners import runner_ids, source_worker_factory

    template = load()
    aws = EmbeddedAws.start(free_port())
    try:
        put_sample_parquet(aws.client("s3"))
        put_sample_tables(aws.client("s3"), aws.endpoint_url)
        built = (build / "template.yaml").exists() and LAMBDA_RUNTIME.is_dir()
        if built:
            invoker = BuiltInvoker(template.functions(), aws.provision(template), aws.endpoint_url, {}, build)
            make = built_runner_factory(invoker)
        else:
            make = source_worker_factory(template)
        setting = "built" if built else "venv"
        print(
            f"{'connector runner cold start (' + setting + ', median ms)':44} {'import':>8} {'1st call':>9} {'total':>8}"
        )
        functions = template.functions()
        for name in sorted(runner_ids(template)):
            event_text = (ROOT_EVENTS / f"{functions[name].code_uri.name}.json").read_text()
            event = json.loads(event_text.replace("http://127.0.0.1:9", aws.endpoint_url))
            inits, calls = [], []
            for _ in range(rounds):
                worker: LambdaWorker = make(name, functions[name])
                try:
                    answer = worker.invoke_raw(event)
                    assert {"result", "resultGzip"} & answer.get("result", {}).keys(), answer
                    inits.append(worker.init_ms)
                    calls.append(float(answer["duration_ms"]))
                finally:
                    worker.stop()
            init, call = statistics.median(inits), statistics.median(calls)
            print(f"  {name:42} {init:8.1f} {call:9.1f} {init + call:8.1f}")
    finally:
        aws.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="a substring of the function names to measure")
    parser.add_argument("--before", type=Path, help="another sam build output, measured beside (same baseline)")
    args = parser.parse_args()
    builds = {"built": BUILD, **({"before": args.before} if args.before else {})}
    chosen = {k: v for k, v in subjects(builds).items() if "baseline" in k or args.only in k}
    samples: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(args.rounds):
        for name, (command, code, env) in chosen.items():
            samples[name].append(measure(command, code, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    functions = sorted({name.split(" ", 1)[1] for name in chosen if "baseline" not in name})
    settings = [*builds, "venv"]
    header = "".join(f" {setting:>8} {'x':>6}  " for setting in settings)
    print(f"{'handler import (median ms, x baseline)':44}{header}")
    for setting in ("built", "venv"):
        if f"{setting} baseline" in medians:
            print(f"  {setting + ' baseline: import boto3 + client':42} {medians[setting + ' baseline'] * 1000:8.1f}")
    worst: dict[str, float] = {}
    for function in functions:
        row = f"  {function:42}"
        for setting in settings:
            key = f"{setting} {function}"
            if key not in medians:
                row += f" {'-':>8} {'-':>6}  "
                continue
            ratio = medians[key] / medians["venv baseline" if setting == "venv" else "built baseline"]
            worst[setting] = max(worst.get(setting, 0.0), ratio)
            row += f" {medians[key] * 1000:8.1f} {ratio:6.2f}  "
        print(row)
    for setting, ratio in worst.items():
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"worst handler import, {setting}: {ratio:.2f}x baseline (goal <= {GOAL}x: {verdict})")
    if not args.only or "Runner" in args.only:
        runner_cold_starts(args.rounds, BUILD)


if __name__ == "__main__":
    main()
