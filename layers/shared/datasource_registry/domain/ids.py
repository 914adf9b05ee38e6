"""Identifiers: time-ordered data source ids and keys derived from names."""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
ID_PREFIX = "ds_"


_lock = threading.Lock()
_last = 0


def new_data_source_id(now_ms: int | None = None) -> str:
    """A ULID-like id: 48 bits of milliseconds then 80 random bits, so ids sort by creation time.

    Within one process ids are monotonic (as ULID's monotonic mode): a second id in the same millisecond is the
    previous one plus one, so creation order holds even then.
    """
    global _last  # noqa: PLW0603  # the process-wide monotonic clock of ids
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= _last and (_last >> 80) >= millis:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return ID_PREFIX + "".join(reversed(chars))


_ID = re.compile(ID_PREFIX + "[" + _CROCKFORD + "]{26}")


def looks_like_id(reference: str) -> bool:
    """Only what new_data_source_id makes: a cursor or path naming anything else is refused before any read."""
    return _ID.fullmatch(reference) is not None


def key_from_name(name: str) -> str:
    """`Production PostgreSQL` -> `production-postgresql`; non-ASCII letters lose their accents."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:255]
    return slug or "data-source"


JOB_PREFIX = "job_"
_JOB_ID = re.compile(JOB_PREFIX + "[" + _CROCKFORD + "]{26}")


def new_job_id(now_ms: int | None = None) -> str:
    """A discovery job's id: the same time-ordered form as a data source's, so a source's jobs sort newest last."""
    return JOB_PREFIX + new_data_source_id(now_ms).removeprefix(ID_PREFIX)


def looks_like_job_id(reference: str) -> bool:
    return _JOB_ID.fullmatch(reference) is not None
