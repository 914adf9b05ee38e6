"""Runs the real handlers in-process, as Lambda would: one module per function, a context object per call."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from devserver.template import Function


@dataclass
class LocalContext:
    """The parts of LambdaContext that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    timeout_seconds: float = 29.0

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invoker:
    def __init__(self, functions: dict[str, Function]) -> None:
        self.functions = functions
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()

    def module(self, logical_id: str) -> ModuleType:
        with self._lock:
            if logical_id not in self._modules:
                function = self.functions[logical_id]
                module_name, _ = function.handler.rsplit(".", 1)
                path = function.code_uri / f"{module_name}.py"
                spec = importlib.util.spec_from_file_location(f"lambda_{logical_id}", path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                self._modules[logical_id] = module
            return self._modules[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        function = self.functions[logical_id]
        handler = getattr(self.module(logical_id), function.handler.rsplit(".", 1)[1])
        return handler(event, LocalContext(function_name=logical_id))
