"""When and how long to wait before trying an upstream call again."""

from __future__ import annotations

import email.utils
import random
import time

import httpx
import msgspec

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "backoff_delay", "server_delay"]

# 408/409 are what OpenAI-style APIs answer for transient conflicts; 429 and 5xx are load and outages.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Retries inside one provider call; after `attempts` the call fails retryably and the worker tries later."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A server asking for a longer pause than this is not waited for inside a call.
    max_server_delay: float = 60.0


def backoff_delay(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with full jitter; `attempt` counts from 1."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def server_delay(response: httpx.Response) -> float | None:
    """The pause the server asked for (`retry-after-ms`, then `Retry-After` seconds or HTTP date)."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())
