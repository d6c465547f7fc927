"""The one retry policy of both provider kinds: statuses, Retry-After, backoff, values from settings."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from providers.config import NativeSettings, OpenAIBatchSettings
from providers.retry import RetryPolicy, backoff_seconds, is_retryable_status, retry_after_seconds


def test_retryable_statuses_are_load_outages_and_transient_conflicts() -> None:
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 504, 507, 599))
    # 501 and 505 describe the request, not the server's state: the same answer comes back next time.
    assert not any(is_retryable_status(s) for s in (200, 301, 400, 401, 403, 404, 405, 422, 501, 505, 600))


def test_retry_after_reads_every_form_from_any_header_mapping() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}, 60) == 0.25
    assert retry_after_seconds({"retry-after": "3"}, 60) == 3.0
    # httpx's case-insensitive headers, as the batch adapter passes them
    assert retry_after_seconds(httpx.Headers({"Retry-After": "2"}), 60) == 2.0
    dated = retry_after_seconds({"retry-after": formatdate(time.time() + 30, usegmt=True)}, 60)
    assert dated is not None
    assert 28 <= dated <= 30.5
    assert retry_after_seconds({"retry-after-ms": "x", "retry-after": "1.5"}, 60) == 1.5  # a bad ms falls back
    assert retry_after_seconds({"retry-after": "soon"}, 60) is None
    assert retry_after_seconds({}, 60) is None


@pytest.mark.parametrize(("value", "expected"), [("3600", 60.0), ("-5", 0.0), ("inf", 60.0), ("nan", 0.0)])
def test_retry_after_is_capped_and_never_negative(value: str, expected: float) -> None:
    assert retry_after_seconds({"retry-after": value}, 60) == expected


def test_backoff_is_full_jitter_doubling_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    first = [backoff_seconds(policy, 1) for _ in range(400)]
    assert all(0 <= d <= 1.0 for d in first)
    assert min(first) < 0.1  # full jitter reaches down to zero (equal jitter would stay above 0.5)
    assert all(0 <= backoff_seconds(policy, 3) <= 4.0 for _ in range(100))
    assert all(0 <= backoff_seconds(policy, 500) <= 4.0 for _ in range(100))  # no overflow for huge attempts
    assert max(backoff_seconds(policy, 10) for _ in range(400)) > 3.0


def test_policy_values_come_from_provider_settings() -> None:
    settings = NativeSettings(
        base_url="http://h", max_attempts=7, retry_base_seconds=0.1, retry_max_seconds=2.0,
        max_retry_after_seconds=5.0,
    )  # fmt: skip
    assert RetryPolicy.of(settings) == RetryPolicy(attempts=7, base_delay=0.1, max_delay=2.0, max_retry_after=5.0)
    assert RetryPolicy.of(OpenAIBatchSettings(base_url="http://h")).max_retry_after == 60.0
