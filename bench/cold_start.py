"""Cold start: import each handler in a fresh interpreter, side by side with `import boto3; boto3.client(...)`.

Runs are interleaved (baseline, handler 1, handler 2, ... then again) so machine noise hits all alike; the
ratios (handler / baseline, medians) are what to read, not the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from devserver.aws import function_environment
from devserver.template import load

BASELINE = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
XRAY = "import aws_xray_sdk.core"
TIMER = "{setup}; import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"


def handler_import(path: str) -> str:
    return (
        f"import importlib.util as u; s = u.spec_from_file_location('handler', {path!r}); "
        "m = u.module_from_spec(s); s.loader.exec_module(m)"
    )


def measure(code: str, env: dict[str, str], setup: str = "pass") -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(setup=setup, code=code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    template = load()
    functions = template.functions()
    env = {**os.environ, **function_environment(template, {}), "AWS_DEFAULT_REGION": "us-east-1"}
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env["POWERTOOLS_TRACE_DISABLED"] = "false"  # as in Lambda with Tracing: Active
    subjects = {"baseline: import boto3 + client": ("pass", BASELINE), "aws_xray_sdk.core alone": ("pass", XRAY)}
    for name, function in sorted(functions.items()):
        module = function.handler.rsplit(".", 1)[0]
        code = handler_import(str(function.code_uri / f"{module}.py"))
        subjects[name] = ("pass", code)
        # The same import with the X-Ray SDK already loaded: what our code, Powertools and pydantic cost.
        subjects[f"{name} (X-Ray SDK preloaded)"] = (XRAY, code)
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.rounds):
        for name, (setup, code) in subjects.items():
            samples[name].append(measure(code, env, setup))
    base = statistics.median(samples["baseline: import boto3 + client"])
    print(f"{'subject':60} {'median ms':>10} {'x baseline':>11}")
    worst = {"full": 0.0, "preloaded": 0.0}
    for name, values in samples.items():
        ratio = statistics.median(values) / base
        if name.endswith("Function"):
            worst["full"] = max(worst["full"], ratio)
        elif name.endswith("preloaded)"):
            worst["preloaded"] = max(worst["preloaded"], ratio)
        print(f"{name:60} {statistics.median(values) * 1000:10.1f} {ratio:11.2f}")
    print(f"worst handler import: {worst['full']:.2f}x baseline (goal <= 1.25x)")
    print(f"worst handler import without the X-Ray SDK's own cost: {worst['preloaded']:.2f}x baseline")


if __name__ == "__main__":
    main()
