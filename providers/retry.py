"""The one retry policy of batchgate: which answers are worth another try, how long the upstream asked us
to wait, and how long to back off when it did not say.

Every retry loop uses it: the native executor per line, the batch adapter per API call and poll, the
worker's step retries, its Redis-outage pauses, webhook deliveries and the user's CLI. Provider numbers
come from the provider's settings (`RetryPolicy.of`); worker steps and webhooks pass their config
tables' numbers to `full_jitter`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:  # the user's CLI imports this module: it loads no settings
    from providers.settings import BaseProviderSettings

__all__ = [
    "RetryPolicy",
    "backoff_ceiling",
    "backoff_seconds",
    "full_jitter",
    "is_retryable_status",
    "retry_after_seconds",
]

# 408 (timeout), 409 (a transient conflict, as OpenAI-style APIs use it) and 429 (load) are retried, and
# so is every 5xx except two that describe the request, not the server's state: 501 Not Implemented (the
# upstream does not serve this method or path; a route without a batch API answers it, and the next
# route, not a retry, is what helps) and 505 HTTP Version Not Supported. Both answer the same next time.
_RETRYABLE_4XX = frozenset({408, 409, 429})
_PERMANENT_5XX = frozenset({501, 505})


def is_retryable_status(status: int) -> bool:
    if status < 500:
        return status in _RETRYABLE_4XX
    return status < 600 and status not in _PERMANENT_5XX


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How one provider retries; `attempts` counts every try, the first included."""

    attempts: int = 5
    base_delay: float = 0.5  # the first backoff's ceiling; it doubles per attempt
    max_delay: float = 30.0  # no backoff ceiling above this
    max_retry_after: float = 60.0  # the longest pause an upstream's Retry-After may impose

    @classmethod
    def of(cls, settings: BaseProviderSettings) -> RetryPolicy:
        return cls(
            attempts=settings.max_attempts,
            base_delay=settings.retry_base_seconds,
            max_delay=settings.retry_max_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """`min(cap, base * 2^(attempt-1))`: `attempt` is the attempt that just failed, counting from 1."""
    return min(cap, base * 2.0 ** min(max(attempt, 1) - 1, 60))


def full_jitter(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with *full jitter*: uniform between 0 and `backoff_ceiling` (AWS Architecture Blog,
    "Exponential Backoff And Jitter", 2015). Of the jitter schemes it spreads the retries of many clients
    the most for the same total work, so a recovering upstream (or Redis, or webhook receiver) is not hit
    by everyone at once."""
    return (rng or random).uniform(0.0, backoff_ceiling(attempt, base=base, cap=cap))


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """A provider's backoff after its `attempt`-th failed try (`full_jitter` with the policy's numbers)."""
    return full_jitter(attempt, base=policy.base_delay, cap=policy.max_delay)


def retry_after_seconds(headers: Mapping[str, str], cap: float) -> float | None:
    """The pause the upstream asked for, capped at `cap` seconds: `retry-after-ms` (OpenAI's), then
    `Retry-After` as seconds or an HTTP date; None when it asked for none (or said it unreadably)."""
    wait = _asked(headers)
    return None if wait is None else min(max(0.0, wait), cap)


def _asked(headers: Mapping[str, str]) -> float | None:
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
