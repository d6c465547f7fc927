"""Retries, final errors, Retry-After and rate limits against the simulator."""

from __future__ import annotations

import time
from collections import Counter

from tests.integration.providers.native.helpers import (
    make_job,
    poll_until_finished,
    requests_before_deadline,
    results,
    running,
)
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream


async def test_retry_rules_and_error_line_shapes(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    upstream.hang_seconds = 5
    upstream.retry_after = 0.3
    upstream.faults = {
        "line-0": ["500", "503"],  # retried, then succeeds
        "line-1": ["400"],  # final at once
        "line-2": ["text502", "text502", "text502"],  # exhausted: wrapped in an error envelope
        "line-3": ["malformed", "malformed", "malformed"],  # exhausted: error line
        "line-4": ["hang", "hang", "hang"],  # timeouts exhausted
        "line-5": ["429"],  # retried after the deadline
    }
    provider = make_provider(max_attempts=3, request_timeout_seconds=0.3)
    job = await make_job(blobs, 8)
    state = await provider.submit(job)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state)
    assert (finished.outcome, finished.progress.completed, finished.progress.failed) == ("completed", 4, 4)
    by_id = {line["custom_id"]: line for line in await results(provider, job, state)}
    assert by_id["c0"]["response"]["status_code"] == 200
    assert by_id["c5"]["response"]["status_code"] == 200
    assert by_id["c1"]["response"]["status_code"] == 400
    assert by_id["c1"]["response"]["body"]["error"]["message"] == "simulated 400"
    wrapped = by_id["c2"]["response"]
    assert wrapped["status_code"] == 502
    assert wrapped["body"]["error"] == {"message": "<html>Bad gateway</html>", "type": "upstream_error",
                                        "param": None, "code": "http_502"}  # fmt: skip
    assert (by_id["c3"]["response"], by_id["c3"]["error"]["code"]) == (None, "malformed_response")
    assert (by_id["c4"]["response"], by_id["c4"]["error"]["code"]) == (None, "request_timeout")
    sends = Counter(r.body["messages"][-1]["content"] for r in upstream.requests)
    assert (sends["line-0"], sends["line-1"], sends["line-2"], sends["line-3"], sends["line-4"]) == (3, 1, 3, 3, 3)
    assert requests_before_deadline(upstream) == []


async def test_a_lone_429_delays_only_its_own_line(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    upstream.retry_after = 0.5
    upstream.faults = {f"line-{i}": ["429"] for i in range(0, 200, 40)}
    upstream.latency = 0.01
    provider = make_provider(max_concurrency=8)
    job = await make_job(blobs, 200)
    state = await provider.submit(job)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state)
    assert finished.progress.completed == 200
    told = [r for r in upstream.requests if r.status == 429]
    assert len(told) == 5
    assert [r for r in upstream.requests if r.early] == []  # no line came back before its own deadline
    first = min(r.at for r in told)
    # The other lines went on meanwhile: a provider-wide pause would have left this window empty.
    assert sum(1 for r in upstream.requests if first + 0.05 < r.at < first + 0.45) >= 10


async def test_a_spent_quota_pauses_every_line(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    upstream.retry_after = 0.25
    upstream.faults = {f"line-{i}": ["429quota"] for i in range(0, 60, 12)}
    provider = make_provider(max_concurrency=32)
    job = await make_job(blobs, 60)
    state = await provider.submit(job)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state)
    assert finished.progress.completed == 60
    # Requests already on the wire when a 429 was issued may land a moment after it; none may come later.
    assert sum(1 for r in upstream.requests if r.status == 429) >= 5
    assert requests_before_deadline(upstream) == []


async def test_every_pause_is_capped_by_max_retry_after_seconds(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    upstream.retry_after = 30.0  # asked for far more than the provider's cap
    upstream.fault_rates = {"429": 0.5}
    provider = make_provider(max_concurrency=16, max_retry_after_seconds=0.3, max_attempts=20)
    job = await make_job(blobs, 30)
    state = await provider.submit(job)
    started = time.monotonic()
    async with running(provider):
        finished = await poll_until_finished(provider, job, state, limit=20)
    assert finished.progress.completed == 30
    assert time.monotonic() - started < 15  # the 30 s asked for were capped at 0.3 s per pause


async def test_rpm_limit_is_smoothed(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    provider = make_provider(requests_per_minute=1200, max_concurrency=64)  # one every 50 ms
    job = await make_job(blobs, 40)
    state = await provider.submit(job)
    async with running(provider):
        await poll_until_finished(provider, job, state)
    arrivals = sorted(r.at for r in upstream.requests)
    assert len(arrivals) == 40
    # No burst: any 1 s window holds at most one second's worth (20) plus one.
    assert max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals) <= 21
    assert arrivals[-1] - arrivals[0] >= 39 * 0.05 * 0.98


async def test_tpm_limit_paces_by_tokens(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    # Each line is estimated at ~20 tokens (prompt/4 + max_tokens 8); 12,000 TPM = 200 tokens/s.
    provider = make_provider(tokens_per_minute=12_000, max_concurrency=64)
    job = await make_job(blobs, 30)
    state = await provider.submit(job)
    async with running(provider):
        await poll_until_finished(provider, job, state)
    arrivals = sorted(r.at for r in upstream.requests)
    tokens = sum(r.usage["total_tokens"] for r in upstream.requests if r.usage)
    assert arrivals[-1] - arrivals[0] >= (tokens - 40) / 200 * 0.9  # paced by actual usage, minus one line
