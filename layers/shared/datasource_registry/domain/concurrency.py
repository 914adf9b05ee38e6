"""The domain's one retry for optimistic concurrency: read, decide, write; when another write won, do it again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from datasource_registry.domain.ports import StaleVersion

T = TypeVar("T")

# Sixteen writers of one source at once all land within these (each round one of them wins); the backoff spreads
# them out so they stop colliding. Exhausted, the caller's `exhausted` answer is given (409 with the current state).
WRITE_ATTEMPTS = 24
BASE_SECONDS = 0.01
CAP_SECONDS = 0.4


def settle(
    attempt: Callable[[], T],
    *,
    exhausted: Callable[[], Exception],
    attempts: int = WRITE_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`attempt()` until it does not raise StaleVersion (it re-reads each time), with full-jitter backoff."""
    for n in range(attempts):
        try:
            return attempt()
        except StaleVersion:
            if n == attempts - 1:
                break
        sleep(random.uniform(0, min(CAP_SECONDS, BASE_SECONDS * 2**n)))  # jitter, not a secret
    raise exhausted()
