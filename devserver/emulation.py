"""The Lambda-like emulation: `sam build`'s functions and layers, each run in a worker process of its own.

Each function runs in a process of the base python3.11 started as `python -S -B -P` (no site-packages, no bytecode
written, as on Lambda's read-only filesystem), with PYTHONPATH = the function's built code (LAMBDA_TASK_ROOT), its
layers' `python/` dirs (where /opt/python is on Lambda) and `.aws-sam/lambda-runtime` (boto3 as the runtime
provides it); the environment is the template's, with tracing as deployed (an X-Ray trace header per invocation,
segments sent to a local UDP port and counted). devserver/artifacts.py checks the build with it; devserver/runners.py
and `make serve-built` run functions in it.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from devserver.template import REGION, ROOT, STACK_NAME, Resolver, Template, load

BUILD = ROOT / ".aws-sam" / "build"
LAMBDA_RUNTIME = ROOT / ".aws-sam" / "lambda-runtime"
BOOTSTRAP = Path(__file__).resolve().parent / "lambda_bootstrap.py"
EVENTS = ROOT / "events"
# Top-level names the python3.11 runtime provides; a layer shipping one would shadow the runtime's copy.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
PYTHON = getattr(sys, "_base_executable", sys.executable)  # the interpreter itself, not the venv's


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    task_root: Path
    handler: str
    layers: tuple[Path, ...]  # the layers' python/ dirs, in attachment order
    environment: dict[str, Any]  # unresolved, as in the template
    memory_mb: int
    timeout_s: float
    tracing: str


def built_template(build: Path = BUILD) -> Template:
    return load(build / "template.yaml")


def built_layers(build: Path = BUILD) -> dict[str, Path]:
    build = build.resolve()
    template = built_template(build)
    return {
        name: build / spec["Properties"]["ContentUri"] / "python"
        for name, spec in template.resources_of_type("AWS::Serverless::LayerVersion").items()
    }


def built_functions(build: Path = BUILD) -> dict[str, BuiltFunction]:
    """The functions as `sam build` left them, with the template's Globals applied the way SAM applies them."""
    build = build.resolve()  # the workers run in their task root: every path on their PYTHONPATH is absolute
    template = built_template(build)
    layers = built_layers(build)
    globals_ = template.document.get("Globals", {}).get("Function", {})
    resolver = Resolver(template)
    result = {}
    for name, spec in template.resources_of_type("AWS::Serverless::Function").items():
        props = spec.get("Properties", {})
        env = dict(globals_.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        refs = [*globals_.get("Layers", []), *props.get("Layers", [])]  # SAM appends a function's to the Globals'
        result[name] = BuiltFunction(
            logical_id=name,
            task_root=build / props["CodeUri"],
            handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
            layers=tuple(layers[ref["Ref"]] for ref in refs),
            environment=env,
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            timeout_s=float(props.get("Timeout", globals_.get("Timeout", 3))),
            tracing=str(resolver.resolve(props.get("Tracing", globals_.get("Tracing", "PassThrough")))),
        )
    return result


def lambda_path(function: BuiltFunction, runtime: Path = LAMBDA_RUNTIME) -> str:
    # Layers are extracted into one /opt in order (a later one wins); the check refuses overlapping layers, so
    # putting the later layers first on the path is the same thing.
    return os.pathsep.join(str(p) for p in (function.task_root, *reversed(function.layers), runtime))


def lambda_environment(
    function: BuiltFunction,
    refs: dict[str, str],
    endpoint_url: str,
    overrides: dict[str, str] | None = None,
    xray_address: str = "127.0.0.1:2000",
    build: Path = BUILD,
) -> dict[str, str]:
    """The environment Lambda gives this function: the template's variables plus what the service sets."""
    env = {k: str(v) for k, v in Resolver(built_template(build), refs).resolve(function.environment).items()}
    env.update(overrides or {})
    host, port = xray_address.rsplit(":", 1)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": lambda_path(function),
            "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /var/task and /opt are read-only
            "LAMBDA_TASK_ROOT": str(function.task_root),
            "LAMBDA_RUNTIME_DIR": str(LAMBDA_RUNTIME),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": f"{STACK_NAME}-{function.logical_id}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{STACK_NAME}-{function.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",  # moto's placeholder credentials, as the function role's would be
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_XRAY_DAEMON_ADDRESS": xray_address,
            "_AWS_XRAY_DAEMON_ADDRESS": host,
            "_AWS_XRAY_DAEMON_PORT": port,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    return env


def trace_header(function: BuiltFunction) -> str | None:
    if function.tracing != "Active":
        return None
    now = f"{int(time.time()):08x}"
    return f"Root=1-{now}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1;Lineage=1:0:0"


class LambdaError(RuntimeError):
    """The function failed (Lambda would answer the invoker with errorType; API Gateway with a 502)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(f"{answer.get('errorType')}: {answer.get('errorMessage')}")
        self.answer = answer


class LambdaWorker:
    """One execution environment: a process that imports the handler once and serves invocations one at a time."""

    def __init__(self, function: BuiltFunction, env: dict[str, str], log: IO[Any] | None = None) -> None:
        self.function = function
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(  # noqa: S603  # our own bootstrap under the base interpreter
            [PYTHON, "-S", "-B", "-P", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=log if log is not None else subprocess.DEVNULL,
            env={**env, "DS_RESULT_FD": str(write_fd)},
            pass_fds=(write_fd,),
            cwd=function.task_root,
        )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "rb")
        self._lock = threading.Lock()
        ready = self._read(60.0)
        self.init_ms = float(ready["init_ms"])
        self.init_error = ready.get("init_error")

    def _read(self, timeout: float) -> dict[str, Any]:
        ready, _, _ = select.select([self._results], [], [], timeout)
        line = self._results.readline() if ready else b""
        if not line:
            self.stop()
            raise LambdaError({"errorType": "Sandbox.Timedout" if not ready else "Runtime.ExitError"})
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke_raw(self, event: Any) -> dict[str, Any]:
        """The runtime's answer: {"result": ...} or {"errorType": ...}, with duration_ms."""
        with self._lock:
            deadline_ms = int((time.time() + self.function.timeout_s) * 1000)
            request = {"event": event, "deadline_ms": deadline_ms, "trace_id": trace_header(self.function)}
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            return self._read(self.function.timeout_s + 5)

    def invoke(self, event: Any) -> Any:
        answer = self.invoke_raw(event)
        if "errorType" in answer:
            raise LambdaError(answer)
        return answer["result"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._results.close()


class XRayDaemon:
    """A UDP socket where the X-Ray daemon would listen: it counts the segments the functions send."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.segments = 0
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        while True:
            try:
                self.socket.recv(65536)
            except OSError:
                return
            self.segments += 1
