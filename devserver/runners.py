"""Lambda's Invoke API on loopback for the connector runners, each run in worker processes without AWS credentials.

`POST /2015-03-31/functions/{name}/invocations` (RequestResponse) as Lambda answers it: 200 with the handler's
result, or 200 with `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage"}` when the process raised,
died (Runtime.ExitError) or ran past the function's Timeout (Sandbox.Timedout; the process is killed); 404
ResourceNotFoundException for an unknown name. Callers reach it with boto3's Lambda client through
AWS_ENDPOINT_URL_LAMBDA, so the code path is the one that deploys. A runner's process gets no AWS credentials, no
credential files, no instance metadata and blank names of the registry's resources: code running there cannot
read the table or the secrets (tests/api/test_runner_isolation.py proves it).
"""

from __future__ import annotations

import json
import os
import sysconfig
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devserver.emulation import PYTHON, BuiltFunction, LambdaError, LambdaWorker, lambda_path
from devserver.template import REGION, ROOT, Function, Resolver, Template, physical_name

INVOKE_PATH = "/2015-03-31/functions/"
RESPONSE_LIMIT = 6 * 1024 * 1024  # Lambda's, for a RequestResponse invocation's answer
# What a runner's process must never hold: credentials, or a way to find some (files, profiles, metadata).
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
NO_CREDENTIAL_SOURCES = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}


def runner_ids(template: Template | None = None) -> set[str]:
    """The logical ids of the connector runners (the built template renames code dirs; the source one does not)."""
    from devserver.template import load

    return {name for name, function in (template or load()).functions().items() if function.is_runner}


def without_credentials(env: dict[str, str]) -> dict[str, str]:
    """A runner's environment: the given one minus every AWS credential and every place to find one."""
    clean = {k: v for k, v in env.items() if k not in CREDENTIAL_VARIABLES and not k.startswith("AWS_ENDPOINT_URL")}
    clean.update(NO_CREDENTIAL_SOURCES)
    return clean


def source_worker_factory(
    template: Template, timeouts: dict[str, float] | None = None
) -> Callable[[str, Function], LambdaWorker]:
    """Workers that run a runner from the source tree: its code dir, the shared package and the venv's drivers."""
    globals_ = template.document.get("Globals", {}).get("Function", {})
    site_packages = Path(sysconfig.get_paths()["purelib"])

    def make(logical_id: str, function: Function) -> LambdaWorker:
        props = template.resources[logical_id]["Properties"] if logical_id in template.resources else {}
        timeout = (timeouts or {}).get(logical_id) or float(props.get("Timeout", globals_.get("Timeout", 3)))
        built = BuiltFunction(
            logical_id=logical_id,
            task_root=function.code_uri,
            handler=function.handler,
            layers=(ROOT / "layers" / "shared", site_packages),
            environment=function.environment,
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            timeout_s=timeout,
            tracing="PassThrough",
        )
        env = {k: str(v) for k, v in Resolver(template).resolve(function.environment).items()}
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "en_US.UTF-8",
                "PYTHONPATH": lambda_path(built),
                "PYTHONDONTWRITEBYTECODE": "1",
                "LAMBDA_TASK_ROOT": str(function.code_uri),
                "_HANDLER": function.handler,
                "AWS_LAMBDA_FUNCTION_NAME": physical_name(logical_id),
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        return LambdaWorker(built, without_credentials(env))

    return make


@dataclass
class RunnerPool:
    """The runner functions by physical name, each with idle workers: one worker serves one invocation at a time."""

    functions: dict[str, tuple[str, Function]]  # physical name -> (logical id, function)
    make_worker: Callable[[str, Function], LambdaWorker]
    idle: dict[str, list[LambdaWorker]] = field(default_factory=dict)
    every: list[LambdaWorker] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    python: str = PYTHON
    invocations: int = 0

    def add(self, logical_id: str, function: Function) -> str:
        """Adds a function (tests add probes); returns its physical name."""
        name = physical_name(logical_id)
        self.functions[name] = (logical_id, function)
        return name

    def invoke(self, name: str, event: Any) -> dict[str, Any]:
        """The runtime's answer ({"result": ...} or {"errorType": ...}); a dead or timed-out worker is dropped."""
        logical_id, function = self.functions[name]
        with self.lock:
            self.invocations += 1
            idle = self.idle.setdefault(name, [])
            worker = idle.pop() if idle else None
        if worker is None:
            worker = self.make_worker(logical_id, function)
            with self.lock:
                self.every.append(worker)
        try:
            answer = worker.invoke_raw(event)
        except LambdaError as failed:  # the process died or ran past its Timeout: it was killed, never reused
            return dict(failed.answer, errorMessage=failed.answer.get("errorMessage") or str(failed))
        if worker.process.poll() is None:
            with self.lock:
                self.idle[name].append(worker)
        return answer

    def stop(self) -> None:
        with self.lock:
            for worker in self.every:
                worker.stop()
            self.every.clear()
            self.idle.clear()


class _InvokeHandler(BaseHTTPRequestHandler):
    pool: RunnerPool
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: without it, delayed ACKs add ~40 ms

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        path = self.path.split("?", 1)[0]
        name = path.removeprefix(INVOKE_PATH).removesuffix("/invocations")
        name = name.rsplit(":function:", 1)[-1]  # an ARN names the function too
        if not path.startswith(INVOKE_PATH) or not path.endswith("/invocations"):
            return self._send(404, {"message": f"no such API: {path}"}, error_type="UnknownOperationException")
        if name not in self.pool.functions:
            return self._send(
                404, {"Type": "User", "message": f"Function not found: {name}"}, "ResourceNotFoundException"
            )
        if self.headers.get("x-amz-invocation-type", "RequestResponse") != "RequestResponse":
            return self._send(
                400, {"message": "the local endpoint serves RequestResponse only"}, "InvalidParameterValueException"
            )
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return self._send(
                400, {"message": "Could not parse request body into json"}, "InvalidRequestContentException"
            )
        answer = self.pool.invoke(name, event)
        if "errorType" in answer:
            error = {"errorType": answer["errorType"], "errorMessage": answer.get("errorMessage") or ""}
            return self._send(200, error, function_error="Unhandled")
        result = json.dumps(answer.get("result")).encode()
        if len(result) > RESPONSE_LIMIT:  # as Lambda answers a function whose result is too large
            message = f"Response payload size ({len(result)} bytes) exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."
            error = {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": message}
            return self._send(200, error, function_error="Unhandled")
        return self._send(200, answer.get("result"))

    def _send(
        self, status: int, document: Any, error_type: str | None = None, function_error: str | None = None
    ) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-amz-executed-version", "$LATEST")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        if function_error:
            self.send_header("X-Amz-Function-Error", function_error)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # the invoke payload holds credentials: never logged
        return


class LambdaInvokeServer:
    """The loopback endpoint boto3's Lambda client calls (AWS_ENDPOINT_URL_LAMBDA)."""

    def __init__(self, pool: RunnerPool) -> None:
        handler = type("InvokeHandler", (_InvokeHandler,), {"pool": pool})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.pool = pool
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @classmethod
    def for_template(
        cls, template: Template, make_worker: Callable[[str, Function], LambdaWorker] | None = None
    ) -> LambdaInvokeServer:
        runners = {physical_name(n): (n, f) for n, f in template.functions().items() if f.is_runner}
        return cls(RunnerPool(runners, make_worker or source_worker_factory(template)))

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.pool.stop()
