"""A stand-in for Lambda's python3.11 runtime loop, run as `python -S -B -P lambda_bootstrap.py` (stdlib only).

It imports the handler named by _HANDLER from LAMBDA_TASK_ROOT (PYTHONPATH holds the task root, the layers and the
runtime's boto3, in Lambda's order), then answers invocations read from stdin, one JSON line each, on the file
descriptor DS_RESULT_FD: {"init_ms": ...} once, then {"result": ...} or {"errorType": ...} per invocation.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid

_STARTED = time.perf_counter()


class LambdaContext:
    """The attributes and method of the context object Lambda passes to a python handler."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{self.function_name}"
        )
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, kind: str | None = None) -> dict[str, object]:
    return {
        "errorType": kind or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def main() -> None:
    out = os.fdopen(int(os.environ["DS_RESULT_FD"]), "w", buffering=1)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    handler = None
    init_error = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # Lambda reports Runtime.ImportModuleError on every invocation
        init_error = _error(exc, "Runtime.ImportModuleError")
    init_ms = (time.perf_counter() - _STARTED) * 1000
    out.write(json.dumps({"init_ms": init_ms, "init_error": init_error}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("trace_id"):
            os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]  # set per invocation, as Lambda does
        started = time.perf_counter()
        if handler is None:
            answer = dict(init_error or {})
        else:
            context = LambdaContext(request.get("request_id") or str(uuid.uuid4()), request["deadline_ms"])
            try:
                answer = {"result": handler(request["event"], context)}
            except Exception as exc:  # Lambda answers the invoker with the error; API Gateway turns it into a 502
                answer = _error(exc)
        sys.stdout.flush()
        sys.stderr.flush()
        answer["duration_ms"] = (time.perf_counter() - started) * 1000
        out.write(json.dumps(answer, default=str) + "\n")
    os._exit(0)  # as Lambda ends a sandbox: no interpreter shutdown (some native libraries abort in it)


if __name__ == "__main__":
    main()
