"""Whatever dies between upload, create and recording the state, one upstream batch per shard."""

from __future__ import annotations

import pytest

from providers.base import ProviderError
from providers.openai_batch.state import decode_state
from tests.integration.providers.openai_batch.helpers import input_lines, make_job, make_provider
from tests.support.batch_upstream import BatchUpstream, Fault
from tests.support.blobs import DirBlobs


async def test_crash_between_upload_and_create_reuses_the_upload(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(12))
    first = make_provider(deepseek, blobs)
    deepseek.add_fault(Fault(route="create", status=400))  # the worker "dies" right after uploading
    with pytest.raises(ProviderError):
        await first.submit(job)
    await first.aclose()
    second = make_provider(deepseek, blobs)
    await second.submit(job)
    assert deepseek.recorder.calls["upload"] == 1
    assert len(deepseek.store.batches) == 1
    await second.aclose()


async def test_crash_before_the_state_is_recorded_reuses_the_batch(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(12))
    first = make_provider(deepseek, blobs)
    lost_state = await first.submit(job)  # the worker dies before persisting this
    await first.aclose()
    second = make_provider(deepseek, blobs)
    state = await second.submit(job)
    assert decode_state(state).shards[0].batch_id == decode_state(lost_state).shards[0].batch_id
    assert decode_state(state).shards[0].input_file_id == decode_state(lost_state).shards[0].input_file_id
    assert len(deepseek.store.batches) == 1
    assert deepseek.recorder.calls["upload"] == 1
    await second.aclose()


async def test_5xx_after_a_committed_create_makes_no_second_batch(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(12))
    provider = make_provider(deepseek, blobs)
    deepseek.add_fault(Fault(route="create", status=500, after_commit=True))
    await provider.submit(job)
    assert len(deepseek.store.batches) == 1
    assert deepseek.recorder.calls["create"] == 1
    await provider.aclose()


async def test_an_unreadable_answer_after_a_committed_create_makes_no_second_batch(
    deepseek: BatchUpstream, blobs: DirBlobs
) -> None:
    job = make_job(blobs, input_lines(12))
    provider = make_provider(deepseek, blobs)
    deepseek.add_fault(Fault(route="create", malformed=True, after_commit=True))
    await provider.submit(job)
    assert len(deepseek.store.batches) == 1
    assert deepseek.recorder.calls["create"] == 1
    await provider.aclose()


async def test_an_unreadable_poll_answer_is_a_retryable_provider_error(
    deepseek: BatchUpstream, blobs: DirBlobs
) -> None:
    job = make_job(blobs, input_lines(3))
    provider = make_provider(deepseek, blobs)
    state = await provider.submit(job)
    deepseek.add_fault(Fault(route="retrieve", malformed=True, count=20))
    with pytest.raises(ProviderError) as caught:
        await provider.poll(job, state)
    assert caught.value.retryable
    assert "unreadable answer" in str(caught.value)
    await provider.aclose()


async def test_other_jobs_batches_are_not_taken(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    provider = make_provider(deepseek, blobs)
    await provider.submit(make_job(blobs, input_lines(3), batch_id="batch_a"))
    await provider.submit(make_job(blobs, input_lines(3), batch_id="batch_b"))
    ids = {b.metadata["batchgate_batch_id"] for b in deepseek.store.batches.values() if b.metadata}
    assert ids == {"batch_a", "batch_b"}
    await provider.aclose()
