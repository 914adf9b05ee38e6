"""Powertools Logger, Metrics and Tracer for every handler (the service name comes from POWERTOOLS_SERVICE_NAME).

Tracing (README, "Tracing"): the template's `Tracing: Active` makes Lambda trace every invocation. On top of that,
Powertools Tracer adds a subsegment for the handler and one per AWS call, by patching botocore only (its default
patches every library the X-Ray SDK knows, which imports psycopg, PyMySQL, requests... at cold start). The Tracer,
and with it the X-Ray SDK, is created on the first invocation, not at import, and never when tracing is disabled
(the XRaySdkDisabled template parameter sets POWERTOOLS_TRACE_DISABLED) or outside Lambda.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()

PATCHED_MODULES = ("botocore",)  # AWS calls; connection tests and discovery are timed by the handler subsegment
_TRUTHY = {"1", "true", "yes", "on", "y", "t"}


def tracing_enabled() -> bool:
    """Powertools' own rule: off when POWERTOOLS_TRACE_DISABLED is truthy, outside Lambda, or under SAM local."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return False
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")


class LazyTracer:
    """Powertools Tracer, built on first use: importing a handler loads no X-Ray SDK and patches nothing."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @property
    def enabled(self) -> bool:
        return tracing_enabled()

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(patch_modules=PATCHED_MODULES)
        return self._tracer

    def capture_lambda_handler(self, capture_response: bool = False) -> Callable[[Callable[..., Any]], Any]:
        """Tracer.capture_lambda_handler, decided on the first invocation (a disabled tracer adds nothing)."""

        def decorate(handler: Callable[..., Any]) -> Any:
            traced: list[Callable[..., Any]] = []

            @functools.wraps(handler)
            def run(event: Any, context: Any, **kwargs: Any) -> Any:
                if not traced:
                    enabled = self.enabled
                    wrap = self.tracer.capture_lambda_handler(capture_response=capture_response) if enabled else None
                    traced.append(wrap(handler) if wrap is not None else handler)
                return traced[0](event, context, **kwargs)

            return run

        return decorate

    def __getattr__(self, name: str) -> Any:  # put_annotation, capture_method ...: the real Tracer's
        return getattr(self.tracer, name)


tracer = LazyTracer()
