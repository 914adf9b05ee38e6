"""What deploys, run locally: `sam build`'s functions and layers under a Lambda-like interpreter, on the embedded AWS.

The emulation (README, "What runs is what deploys"): each function runs in its own process of the base python3.11
started as `python -S -B -P` (no site-packages, no bytecode written, as on Lambda's read-only filesystem), with
PYTHONPATH = the function's built code (LAMBDA_TASK_ROOT), its layers' `python/` dirs (where /opt/python is on
Lambda) and `.aws-sam/lambda-runtime` (boto3 as the runtime provides it); the environment is the template's, with
tracing as deployed (an X-Ray trace header per invocation, segments sent to a local UDP port and counted).

`python -m devserver.artifacts check` (make artifact-check) checks every layer's contents and imports, then invokes
every function with its events/*.json in a lifecycle order and compares the status with the expected one.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devserver.template import REGION, ROOT, STACK_NAME, Function, Resolver, Template, load

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


@dataclass
class BuiltInvoker:
    """The devserver's invoker (same interface as devserver.lambdas.Invoker), each function in its own worker."""

    functions: dict[str, Function]  # the source template's, for routes and schedules
    refs: dict[str, str]
    endpoint_url: str
    overrides: dict[str, str] = field(default_factory=dict)
    build: Path = BUILD
    log: IO[Any] | None = None

    def __post_init__(self) -> None:
        self.built = built_functions(self.build)
        self.xray = XRayDaemon()
        self.workers: dict[str, LambdaWorker] = {}
        self._lock = threading.Lock()

    def worker(self, logical_id: str) -> LambdaWorker:
        with self._lock:
            if logical_id not in self.workers:
                function = self.built[logical_id]
                env = lambda_environment(
                    function, self.refs, self.endpoint_url, self.overrides, self.xray.address, self.build
                )
                self.workers[logical_id] = LambdaWorker(function, env, self.log)
            return self.workers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.worker(logical_id).invoke(event)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.xray.socket.close()


# -- the check ------------------------------------------------------------------------------------------------------

# What each layer must import under the emulation (besides every top-level module it ships), with a use of each
# pyarrow reader the file connectors rely on.
LAYER_PROBES = {
    "SharedLayer": "import datasource_registry.runtime, aws_lambda_powertools.tracing, pydantic, aws_xray_sdk.core",
    "ConnectorsLayer": """
import io, pyarrow, pyarrow.parquet, pyarrow.csv, pyarrow.orc, pyarrow.json, pyarrow.dataset, pyarrow.fs
table = pyarrow.table({"id": [1, 2], "name": ["a", "b"]})
for write, read in ((pyarrow.parquet.write_table, pyarrow.parquet.read_table), (pyarrow.orc.write_table, pyarrow.orc.read_table)):
    sink = io.BytesIO(); write(table, sink); assert read(io.BytesIO(sink.getvalue())).equals(table)
assert pyarrow.csv.read_csv(io.BytesIO(b"id,name\\n1,a\\n")).num_rows == 1
assert pyarrow.json.read_json(io.BytesIO(b'{"id": 1}\\n')).num_rows == 1
import psycopg, pymysql, redis, paramiko, nacl.bindings, bcrypt, cryptography.hazmat.bindings._rust
assert psycopg.pq.__impl__ == "binary", psycopg.pq.__impl__
""",
}
# The bytecode flags of a pyc compiled with --invalidation-mode unchecked-hash (PEP 552: hash-based, not checked).
UNCHECKED_HASH = 0b01


def top_level_names(layer: Path) -> set[str]:
    names = set()
    for entry in layer.iterdir():
        if entry.name in {"__pycache__", "bin"} or entry.name.endswith((".dist-info", ".pth", "-stubs")):
            continue
        if entry.is_dir() and not (entry / "__init__.py").exists() and not any(entry.glob("*.py")):
            continue  # data-only directories (e.g. *.libs with bundled shared objects)
        names.add(entry.name.split(".")[0])
    return names


def check_layer_contents(layers: dict[str, Path], functions: dict[str, BuiltFunction]) -> list[str]:
    problems = []
    for name, layer in layers.items():
        shipped = top_level_names(layer)
        for forbidden in sorted(shipped & set(RUNTIME_PROVIDED)):
            problems.append(f"{name} ships {forbidden}, which the python3.11 runtime provides")
        missing, checked = [], 0
        for source in layer.rglob("*.py"):
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
            if not pyc.exists():
                missing.append(str(source.relative_to(layer)))
                continue
            flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
            checked += 1
            if flags != UNCHECKED_HASH:
                problems.append(f"{name}: {pyc.relative_to(layer)} is not an unchecked-hash pyc (flags {flags})")
                break
        if missing:
            problems.append(f"{name}: {len(missing)} modules without bytecode, e.g. {missing[:3]}")
        print(f"  layer {name}: {len(shipped)} top-level modules, {checked} with unchecked-hash bytecode")
    for function in functions.values():
        seen: dict[str, Path] = {}
        for layer in function.layers:
            for module in top_level_names(layer):
                if module in seen:
                    problems.append(f"{function.logical_id}: {module} is in two of its layers")
                seen[module] = layer
    return problems


def check_layer_imports(layers: dict[str, Path], functions: dict[str, BuiltFunction]) -> list[str]:
    """Each layer, with the layers it is attached beside, imports everything it ships and runs its probe."""
    problems = []
    for name, layer in layers.items():
        companions = next(f.layers for f in functions.values() if layer in f.layers)
        path = os.pathsep.join(str(p) for p in (*reversed(companions), LAMBDA_RUNTIME))
        modules = sorted(top_level_names(layer))
        code = (
            "import importlib, os, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            f"{LAYER_PROBES.get(name, '')}\n"
            # boto3 & co. must come from the runtime's copy, never from a layer
            f"files = [getattr(m, '__file__', None) or '' for n, m in list(sys.modules.items()) "
            f"if n.split('.')[0] in {set(RUNTIME_PROVIDED)!r}]\n"
            f"stray = [f for f in files if f and not f.startswith({str(LAMBDA_RUNTIME)!r})]\n"
            "print(len(sys.modules), 'modules loaded', 'stray:' if stray else '', *stray[:3])\n"
            "sys.stdout.flush(); os._exit(1 if stray else 0)\n"  # no interpreter shutdown: pyarrow may abort in it
        )
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
        run = subprocess.run(  # noqa: S603
            [PYTHON, "-S", "-B", "-P", "-c", code], env=env, capture_output=True, text=True, check=False
        )
        verdict = "ok" if run.returncode == 0 else "FAILED"
        print(f"  layer {name} imports {len(modules)} top-level modules + probe: {verdict} {run.stdout.strip()}")
        if run.returncode != 0:
            problems.append(f"{name} does not import under the emulation:\n{run.stderr[-3000:]}")
    return problems


@dataclass(frozen=True)
class Step:
    event: str  # events/<event>.json, whose stem is also the function's code directory under functions/
    status: int | None  # the expected statusCode; None for non-HTTP functions (they must not fail)
    ids: tuple[tuple[str, str], ...] = ()  # placeholder id in the event -> name of an id captured earlier
    capture: tuple[str, str] | None = None  # (name, dotted path in the JSON body) of an id to capture
    headers: tuple[tuple[str, str], ...] = ()  # added to the event's headers


DS, SYS = "ds_01kaqz5h0000000000000000000", "sys_01kaqz5h0000000000000000000"
# A lifecycle through every function: creates first, reads and updates, then deletes. Sample events that name
# placeholder ids get the ids the creates returned, so every call reaches the store and the secrets for real.
KEY = (("idempotency-key", "artifact-check-create"),)
SCENARIO = (
    Step("create_data_source", 201, headers=KEY),
    Step("create_data_source", 201, headers=KEY),  # a retry: the first answer, replayed (idempotency utility)
    Step("get_data_source", 200),
    Step("list_data_sources", 200),
    Step("update_data_source", 200),
    Step("test_connection", 200),  # the sample's host does not resolve: a failed test is still a 200 answer
    Step("test_unsaved_connection", 200),  # the local PostgreSQL, through psycopg from the connectors layer
    Step("discover_schema", 422),  # the sample's host does not resolve: the discovery fails cleanly
    Step("list_discoveries", 200),  # ... and that job is listed, failed
    Step("get_discovery", 404),  # the sample names a job id never issued
    Step("rivergen_get_data_source", 200),  # 001's dialect names the canonical sample by its key
    Step("rivergen_list_data_sources", 200),
    Step("rivergen_update_data_source", 200),
    Step("rivergen_test_connection", 200),
    Step("rivergen_discover_schema", 422),
    Step("get_schema", 404),
    Step("get_schema_diff", 404),
    Step("list_revisions", 200),  # created, updated twice: three revisions
    Step("get_revision", 200),
    Step("get_revision_diff", 200),
    Step("restore_revision", 200),  # revision 1 again, as revision 4
    Step("list_audit_events", 200),
    Step("public_create_data_sources", 200, capture=("public", "data.id")),
    Step("public_filter_data_sources", 200),
    Step("public_get_data_source", 200, ids=((DS, "public"),)),
    Step("public_get_data_sources_by_ids", 200, ids=((DS, "public"),)),
    Step("public_update_data_source", 200, ids=((DS, "public"),)),
    Step("foundation_create_data_source", 200, capture=("source", "entity.identifier")),
    Step("foundation_create_data_system", 200, capture=("system", "entity.identifier")),
    Step("foundation_get_data_source", 200, ids=((DS, "source"),)),
    Step("foundation_get_data_system", 200, ids=((SYS, "system"),)),
    Step("foundation_list_data_sources", 200),
    Step("foundation_list_data_systems", 200),
    Step("foundation_update_data_source", 200, ids=((DS, "source"),)),
    Step("foundation_configure_connection", 200, ids=((DS, "source"),)),
    Step("foundation_set_secrets", 200, ids=((DS, "source"),)),
    Step("foundation_link_data_source", 200, ids=((DS, "source"), (SYS, "system"))),
    Step("sweep_due_refreshes", None),
    Step("refresh_schema", None),
    Step("foundation_delete_data_system", 200, ids=((SYS, "system"),)),
    Step("foundation_delete_data_source", 200, ids=((DS, "source"),)),
    Step("delete_data_source", 204),
    Step("rivergen_create_data_source", 201),  # the same sample in 001's form, once the canonical one is gone
    Step("rivergen_delete_data_source", 200),
)


def _dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[part]
    return document


def run_scenario(invoker: BuiltInvoker, by_code_dir: dict[str, str]) -> list[str]:
    problems: list[str] = []
    captured: dict[str, str] = {}
    print(f"  {'function':42} {'init ms':>8} {'call ms':>8}  event -> status (expected)")
    for step in SCENARIO:
        text = (EVENTS / f"{step.event}.json").read_text()
        for placeholder, name in step.ids:
            text = text.replace(placeholder, captured.get(name, placeholder))
        logical_id = by_code_dir[step.event]
        worker = invoker.worker(logical_id)
        event = json.loads(text)
        event.setdefault("headers", {}).update(dict(step.headers))
        answer = worker.invoke_raw(event)
        result = answer.get("result")
        status = result.get("statusCode") if isinstance(result, dict) else None
        failed = "errorType" in answer or (status != step.status)
        shown = answer.get("errorType") or status
        flag = "  <-- FAILED" if failed else ""
        print(
            f"  {logical_id:42} {worker.init_ms:8.0f} {answer['duration_ms']:8.0f}  {step.event} -> {shown} "
            f"({step.status}){flag}"
        )
        if failed:
            detail = answer.get("errorMessage") or (result or {}).get("body", "")
            problems.append(f"{step.event} on {logical_id}: {shown}, expected {step.status}: {str(detail)[:400]}")
        elif step.capture is not None and isinstance(result, dict):
            captured[step.capture[0]] = str(_dig(json.loads(result["body"]), step.capture[1]))
    return problems


def check(build: Path = BUILD) -> int:
    from devserver.aws import EmbeddedAws, free_port

    if not LAMBDA_RUNTIME.is_dir():
        print(f"{LAMBDA_RUNTIME} is missing: run make lambda-runtime", file=sys.stderr)
        return 2
    functions = built_functions(build)
    layers = built_layers(build)
    problems = check_layer_contents(layers, functions)
    problems += check_layer_imports(layers, functions)

    template = load()
    by_code_dir = {f.code_uri.name: name for name, f in template.functions().items()}
    untouched = set(functions) - {by_code_dir[step.event] for step in SCENARIO}
    if untouched:
        problems.append(f"functions the scenario never invokes: {sorted(untouched)}")
    aws = EmbeddedAws.start(free_port())  # a moto server of its own, even when AWS_ENDPOINT_URL is set
    log_path = build.parent / "artifact-check.log"
    with log_path.open("w") as log:
        refs = aws.provision(template)
        # As `make serve`: connection tests may reach loopback, AWS sources may use the placeholder credentials.
        overrides = {"ALLOWED_CIDRS": "127.0.0.0/8", "ALLOW_FUNCTION_ROLE_FOR_AWS": "true"}
        invoker = BuiltInvoker(template.functions(), refs, aws.endpoint_url, overrides, build, log)
        try:
            problems += run_scenario(invoker, by_code_dir)
            time.sleep(0.2)  # the last segments are in flight on loopback
            print(f"  X-Ray segments sent by the functions: {invoker.xray.segments}")
            sdk_on = [
                f
                for f in functions.values()
                if f.tracing == "Active"
                and lambda_environment(f, refs, aws.endpoint_url, build=build).get("POWERTOOLS_TRACE_DISABLED", "false")
                not in {"1", "true", "yes", "on"}
            ]
            if sdk_on and invoker.xray.segments == 0:
                problems.append("tracing is Active with the X-Ray SDK on, yet no function sent a segment")
        finally:
            invoker.stop()
            aws.stop()
    print(f"  function logs: {log_path.relative_to(ROOT)}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print(f"artifact check: {len(SCENARIO)} invocations, {len(layers)} layers, {len(problems)} problems")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devserver.artifacts")
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--build", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    return check(args.build)


if __name__ == "__main__":
    sys.exit(main())
