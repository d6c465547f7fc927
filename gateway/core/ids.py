"""Object ids in OpenAI's forms (`file-…`, `batch_…`, `batch_req_…`, `req_…`) that sort by creation time.

The body after the prefix is 10 Crockford base32 characters of milliseconds since the epoch followed by
16 random ones, so lexicographic order is creation order. That lets list endpoints page with
ZRANGE … BYLEX over a set of ids, and `after=<any id ever issued>` is well defined even once the object
is gone. Within one process, ids minted in the same millisecond still increase.
"""

from __future__ import annotations

import secrets
import threading
import time

__all__ = [
    "new_batch_id",
    "new_event_id",
    "new_file_id",
    "new_line_id",
    "new_request_id",
    "new_webhook_endpoint_id",
    "new_webhook_id",
]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80


class _MonotonicIds:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            candidate = (time.time_ns() // 1_000_000) << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)
            # Same millisecond (or a clock step back): keep increasing from the last id.
            self._last = max(candidate, self._last + 1)
            return _encode(self._last)


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


_ids = _MonotonicIds()


def new_file_id() -> str:
    return f"file-{_ids.next()}"


def new_batch_id() -> str:
    return f"batch_{_ids.next()}"


def new_line_id() -> str:
    """Per-line id of an output or error line."""
    return f"batch_req_{_ids.next()}"


def new_request_id() -> str:
    return f"req_{_ids.next()}"


def new_webhook_endpoint_id() -> str:
    return f"we_{_ids.next()}"


def new_event_id() -> str:
    """Id of a webhook event (the payload's `id`)."""
    return f"evt_{_ids.next()}"


def new_webhook_id() -> str:
    """Id of one event's delivery to one endpoint: the `webhook-id` header, the same on every retry."""
    return f"wh_{_ids.next()}"
