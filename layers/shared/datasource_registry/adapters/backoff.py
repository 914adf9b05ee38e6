"""The adapters' one retry of AWS calls: the same request again (same tokens) after a transient failure, with backoff.

botocore already retries throttles and lost connections (standard mode, 5 attempts). What is left after that
is repeated here a few more times with the very same parameters, so an idempotency token (ClientRequestToken)
or a write id on the item makes a repeat of a call that already took effect harmless; after that the answer is
DependencyUnavailable (503, retry later), never a guess.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import ConnectionError, HTTPClientError

from datasource_registry.domain.errors import DependencyUnavailable

T = TypeVar("T")

ATTEMPTS = 4
BASE_SECONDS = 0.05
CAP_SECONDS = 1.0


def pause(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> None:
    """Full-jitter exponential backoff before attempt `attempt + 1`."""
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))  # jitter, not a secret


def transient(error: Exception) -> bool:
    """A lost response: the request may or may not have taken effect, and only sending it again tells.

    Throttles and 5xx answers are botocore's to retry; once it gives up on them, so do we (503, retry later).
    """
    return isinstance(error, ConnectionError | HTTPClientError)


def with_backoff(
    call: Callable[[], T],
    *,
    what: str,
    retry_if: Callable[[Exception], bool] = transient,
    attempts: int = ATTEMPTS,
) -> T:
    """`call()` until it answers; a transient failure is repeated, the last one becomes DependencyUnavailable."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:  # classified right below; anything else propagates as is
            if not retry_if(error):
                raise
            if attempt == attempts - 1:
                raise DependencyUnavailable(f"{what} kept failing; retry later.") from error
        pause(attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def until_processed(send: Callable[[Any], Any], pending: Any, *, what: str, attempts: int = 8) -> None:
    """A batch call (BatchGetItem, BatchWriteItem), then what it left unprocessed, with backoff between tries.

    `send(pending)` sends and answers what is still unprocessed (empty when done); batch reads and writes of whole
    items are idempotent, so a send whose answer was lost is sent again as is (with_backoff). Throttled past
    `attempts`, the answer is DependencyUnavailable (503, retry later); nothing is assumed done that was not.
    """
    for attempt in range(attempts):
        pending = with_backoff(partial(send, pending), what="DynamoDB")
        if not pending:
            return
        pause(attempt)
    raise DependencyUnavailable(f"DynamoDB kept throttling {what}; retry later.")
