"""Upstream faults: load, outages, timeouts, bad keys, failed and expired batches."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from providers.base import ProviderError
from providers.openai_batch.provider import OpenAIBatchProvider
from providers.retry import RetryPolicy
from tests.integration.providers.openai_batch.helpers import (
    API_KEY,
    collect,
    input_lines,
    make_job,
    make_provider,
    run_to_end,
    settings_for,
)
from tests.support.batch_upstream import BatchUpstream, Fault
from tests.support.blobs import DirBlobs
from tests.support.ports import free_port


@pytest.mark.parametrize(
    ("fault", "seconds"),
    [
        (Fault(route="retrieve", status=429, retry_after="1"), 1.0),
        (Fault(route="retrieve", status=429, retry_after_ms=400), 0.4),
    ],
)
async def test_429_retry_after_is_honoured(
    deepseek: BatchUpstream, blobs: DirBlobs, fault: Fault, seconds: float
) -> None:
    job = make_job(blobs, input_lines(3))
    provider = make_provider(deepseek, blobs)
    state = await provider.submit(job)
    deepseek.add_fault(fault)
    started = time.monotonic()
    await provider.poll(job, state)
    gap = time.monotonic() - started
    assert seconds <= gap < seconds + 1.0
    assert deepseek.recorder.calls["retrieve"] == 2
    await provider.aclose()


async def test_5xx_storm_on_every_route_is_ridden_out(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    for route in ("list_batches", "list_files", "upload", "retrieve", "content"):
        deepseek.add_fault(Fault(route=route, status=503, count=3))
    deepseek.add_fault(Fault(route="create", status=502, count=2))
    job = make_job(blobs, input_lines(6))
    provider = make_provider(deepseek, blobs)
    finished, state = await run_to_end(provider, job, await provider.submit(job))
    assert finished.outcome == "completed"
    assert len(await collect(provider, job, state)) == 6
    assert len(deepseek.store.batches) == 1
    await provider.aclose()


async def test_a_storm_longer_than_the_attempts_is_retryable(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    deepseek.add_fault(Fault(route="list_batches", status=500, count=10))
    provider = make_provider(deepseek, blobs)
    with pytest.raises(ProviderError) as caught:
        await provider.submit(make_job(blobs, input_lines(2)))
    assert caught.value.retryable
    assert deepseek.recorder.calls["list_batches"] == 4
    await provider.aclose()


async def test_hanging_calls_time_out_and_are_retried(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(3))
    provider = make_provider(deepseek, blobs, request_timeout_seconds=0.3)
    state = await provider.submit(job)
    deepseek.add_fault(Fault(route="retrieve", hang_seconds=2.0))
    started = time.monotonic()
    await provider.poll(job, state)
    assert 0.3 <= time.monotonic() - started < 1.5
    assert deepseek.recorder.calls["retrieve"] == 2
    await provider.aclose()


async def test_connection_refused_is_retryable(blobs: DirBlobs, deepseek: BatchUpstream) -> None:
    settings = settings_for(deepseek, base_url=f"http://127.0.0.1:{free_port()}/v1")
    provider = OpenAIBatchProvider("deepseek", settings, blobs, API_KEY, retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(ProviderError) as caught:
        await provider.submit(make_job(blobs, input_lines(2)))
    assert caught.value.retryable
    await provider.aclose()


async def test_rejected_key_names_the_env_var_never_the_key(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    wrong = "sk-wrong-secret-987654"
    provider = make_provider(deepseek, blobs, key=wrong)
    with pytest.raises(ProviderError) as caught:
        await provider.submit(make_job(blobs, input_lines(2)))
    error = caught.value
    assert (error.retryable, error.code) == (False, "provider_auth_failed")
    assert "DEEPSEEK_API_KEY" in str(error)
    assert "deepseek" in str(error)
    assert wrong not in str(error)
    assert wrong not in repr(error)
    assert wrong not in repr(provider)
    assert deepseek.recorder.calls["list_batches"] == 1  # not retried
    await provider.aclose()


async def test_missing_key_fails_without_calling_upstream(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    provider = make_provider(deepseek, blobs, key=None)
    with pytest.raises(ProviderError) as caught:
        await provider.submit(make_job(blobs, input_lines(2)))
    assert (caught.value.retryable, caught.value.code) == (False, "provider_auth_failed")
    assert "DEEPSEEK_API_KEY" in str(caught.value)
    assert sum(deepseek.recorder.calls.values()) == 0
    await provider.aclose()


async def test_upstream_validation_failure_maps_errors(sim: BatchUpstream, blobs: DirBlobs) -> None:
    sim.options.validation_errors = [{"code": "invalid_json_line", "message": "bad", "param": None, "line": 2}]
    job = make_job(blobs, input_lines(5))
    provider = make_provider(sim, blobs)
    finished, _ = await run_to_end(provider, job, await provider.submit(job))
    assert finished.outcome == "failed"
    assert [(e.code, e.message, e.line) for e in finished.errors] == [("invalid_json_line", "bad", 2)]
    await provider.aclose()


async def test_expiry_keeps_partial_results(sim: BatchUpstream, blobs: DirBlobs) -> None:
    sim.options.expire = True
    job = make_job(blobs, input_lines(10))
    provider = make_provider(sim, blobs)
    finished, state = await run_to_end(provider, job, await provider.submit(job))
    assert finished.outcome == "expired"
    assert finished.progress.completed == 5
    results = await collect(provider, job, state)
    assert Counter(r["custom_id"] for r in results) == Counter(f"req-{i:05d}" for i in range(10))
    expired = [r for r in results if r["response"] is None]
    assert len(expired) == 5
    assert all(r["error"]["code"] == "batch_expired" for r in expired)  # type: ignore[index]
    await provider.aclose()


async def test_upstream_request_rate_is_bounded(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(2))
    provider = make_provider(deepseek, blobs, requests_per_minute=600)  # 10/s, about 1 s of burst
    state = await provider.submit(job)
    started = time.monotonic()
    for _ in range(20):
        await provider.poll(job, state)
    assert time.monotonic() - started >= 0.9
    await provider.aclose()
