"""The one retry policy (providers/retry.py): statuses, Retry-After forms and caps, the full-jitter formula,
and its numbers from settings for providers, worker steps and webhook deliveries."""

from __future__ import annotations

import random
import re
import statistics
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from gateway.config.settings import BatchesSettings, WebhooksSettings, load_settings
from gateway.webhooks.delivery import retry_delay_seconds
from gateway.worker.failures import step_retry_delay
from providers.config import NativeSettings, OpenAIBatchSettings
from providers.retry import (
    RetryPolicy,
    backoff_ceiling,
    backoff_seconds,
    full_jitter,
    is_retryable_status,
    retry_after_seconds,
)


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


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 40])
def test_full_jitter_is_uniform_between_zero_and_the_ceiling(attempt: int) -> None:
    """True full jitter: `uniform(0, min(cap, base * 2^(attempt-1)))` — every tenth of the range as likely."""
    rng = random.Random(attempt)
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
    samples = [full_jitter(attempt, base=0.5, cap=30.0, rng=rng) for _ in range(5000)]
    assert all(0.0 <= sample <= ceiling for sample in samples)
    deciles = [sum(1 for sample in samples if k / 10 <= sample / ceiling < (k + 1) / 10) for k in range(10)]
    assert all(400 <= count <= 600 for count in deciles), deciles  # ~500 each (binomial sd ~21)
    assert abs(statistics.fmean(samples) - ceiling / 2) < ceiling * 0.03


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    ceilings = [backoff_ceiling(attempt, base=0.5, cap=30.0) for attempt in range(1, 10)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_ceiling(0, base=0.5, cap=30.0) == 0.5  # no attempt failed yet counts as the first
    assert backoff_ceiling(10**6, base=0.5, cap=30.0) == 30.0  # no overflow


def test_an_http_date_in_the_past_asks_for_no_wait_and_ms_wins_over_seconds() -> None:
    assert retry_after_seconds({"retry-after": formatdate(time.time() - 60, usegmt=True)}, 60) == 0.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}, 60) == 1.5
    assert retry_after_seconds({"retry-after-ms": "90000"}, 5.0) == 5.0  # the provider's cap binds every form
    far = formatdate(time.time() + 3600, usegmt=True)
    assert retry_after_seconds({"retry-after": far}, 7.5) == 7.5


def test_worker_steps_and_webhooks_back_off_with_the_same_formula_and_their_own_numbers(tmp_path: Path) -> None:
    config = tmp_path / "batchgate.toml"
    config.write_text("[batches]\nstep_retry_base_seconds = 2.0\nstep_retry_max_seconds = 5.0\n")
    batches = load_settings(config, environ={}).batches
    assert (batches.step_retry_base_seconds, batches.step_retry_max_seconds) == (2.0, 5.0)
    assert (BatchesSettings().step_retry_base_seconds, BatchesSettings().step_retry_max_seconds) == (1.0, 60.0)
    steps = [step_retry_delay(batches, 1) for _ in range(400)]
    assert all(0.0 <= delay <= 2.0 for delay in steps)
    assert min(steps) < 0.2  # full jitter: not the old ±20 % around the ceiling
    assert all(0.0 <= step_retry_delay(batches, 9) <= 5.0 for _ in range(200))
    hooks = WebhooksSettings(first_retry_seconds=4.0, max_retry_seconds=10.0)
    deliveries = [retry_delay_seconds(2, hooks) for _ in range(400)]
    assert all(0.0 <= delay <= 8.0 for delay in deliveries)
    assert min(deliveries) < 0.8
    assert max(retry_delay_seconds(30, hooks) for _ in range(400)) > 9.0


def test_the_retry_module_is_the_only_owner_of_jitter_and_retry_after_parsing() -> None:
    root = Path(__file__).resolve().parents[3]
    owners = {
        str(path.relative_to(root))
        for folder in ("gateway", "providers", "accounting")
        for path in (root / folder).rglob("*.py")
        if re.search(r"random\.uniform|\.get\(\"retry-after|parsedate", path.read_text())
    }
    assert owners == {"providers/retry.py"}
