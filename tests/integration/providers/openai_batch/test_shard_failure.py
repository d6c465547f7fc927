"""Multi-shard submit (DeepSeek-flavoured simulator) under failure and lost leases: shards are recorded as
they are created, a later shard refused for good leaves the earlier ones followed to the end (never orphaned),
an interrupted submit resumes where it stopped, and a step that lost its lease creates nothing more."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from providers.base import ProviderError
from providers.fencing import LeaseLostError, guarded
from providers.openai_batch.state import decode_state
from tests.integration.providers.openai_batch.helpers import (
    FAST_RETRY,
    collect,
    input_lines,
    make_job,
    make_provider,
    run_to_end,
)
from tests.support.batch_upstream import BatchUpstream, Fault
from tests.support.blobs import DirBlobs

ALL_IDS = Counter(f"req-{i:05d}" for i in range(9))


class RecordingGuard:
    """A worker step's guard as the gateway gives it: records every saved state; `on_save` may break things."""

    def __init__(self, sim: BatchUpstream, *, fault_after_first: Fault | None = None, lose_after: int = 99) -> None:
        self.sim = sim
        self.saved: list[bytes] = []
        self.checks = 0
        self._fault = fault_after_first
        self._lose_after = lose_after

    async def check_lease(self) -> None:
        self.checks += 1
        if self.checks > self._lose_after:
            raise LeaseLostError("batch_gw1", "test")

    async def save_state(self, state: bytes) -> None:
        self.saved.append(state)
        if self._fault is not None and len(self.saved) == 1:
            self.sim.add_fault(self._fault)


async def test_a_later_shard_refused_leaves_the_earlier_ones_followed_to_the_end(
    deepseek: BatchUpstream, blobs: DirBlobs
) -> None:
    deepseek.options.refused_shards = ["1"]
    job = make_job(blobs, input_lines(9))
    provider = make_provider(deepseek, blobs, max_requests_per_batch=3)
    guard = RecordingGuard(deepseek)
    with guarded(guard):
        state = await provider.submit(job)
    assert len(deepseek.store.batches) == 1
    assert deepseek.recorder.calls["create"] == 2, "shard 2 is not tried once shard 1 was refused for good"
    first_saved = decode_state(guard.saved[0])
    assert first_saved.shards[0].batch_id is not None, "shard 0 is recorded as soon as it is created"
    assert [s.status for s in decode_state(state).shards][1:] == ["failed", "failed"]
    finished, state = await run_to_end(provider, job, state)
    assert finished.outcome == "completed"
    assert (finished.progress.total, finished.progress.completed, finished.progress.failed) == (9, 3, 6)
    results = await collect(provider, job, state)
    assert Counter(str(r["custom_id"]) for r in results) == ALL_IDS
    refused = [r for r in results if r["error"] is not None]
    assert len(refused) == 6
    await provider.aclose()


async def test_the_first_shard_refused_fails_the_submit_with_nothing_upstream(
    deepseek: BatchUpstream, blobs: DirBlobs
) -> None:
    deepseek.options.refused_shards = ["0"]
    provider = make_provider(deepseek, blobs, max_requests_per_batch=3)
    with pytest.raises(ProviderError) as raised:
        await provider.submit(make_job(blobs, input_lines(9)))
    assert not raised.value.retryable
    assert not deepseek.store.batches
    await provider.aclose()


async def test_a_submit_cut_short_resumes_from_its_recorded_shards(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(9))
    provider = make_provider(deepseek, blobs, max_requests_per_batch=3)
    storm = Fault(route="create", count=FAST_RETRY.attempts, status=503)  # every attempt of shard 1's create
    guard = RecordingGuard(deepseek, fault_after_first=storm)
    with guarded(guard), pytest.raises(ProviderError) as raised:
        await provider.submit(job)
    assert raised.value.retryable
    recorded = guard.saved[-1]  # what the gateway's batch record holds after the failed step
    assert [s.batch_id is not None for s in decode_state(recorded).shards] == [True, False, False]
    finished, state = await run_to_end(provider, job, recorded)  # the next poll creates shards 1 and 2
    assert finished.outcome == "completed"
    assert len(deepseek.store.batches) == 3
    assert Counter(str(r["custom_id"]) for r in await collect(provider, job, state)) == ALL_IDS
    await provider.aclose()


async def test_a_lost_lease_stops_before_the_next_create(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    provider = make_provider(deepseek, blobs, max_requests_per_batch=3)
    with guarded(RecordingGuard(deepseek, lose_after=1)), pytest.raises(LeaseLostError):
        await provider.submit(make_job(blobs, input_lines(9)))
    assert len(deepseek.store.batches) == 1
    assert deepseek.recorder.calls["create"] == 1
    await provider.aclose()


class PausedInCreate:
    """Worker A's guard when A is paused inside its create call: its lease check passes, worker B takes the
    batch over (`successor`, run at the chosen moment), then A's save is refused because its claim is gone."""

    def __init__(self, successor: Callable[[], Awaitable[None]], *, before_create: bool) -> None:
        self._successor = successor
        self._before_create = before_create

    async def check_lease(self) -> None:
        if self._before_create:  # B looks upstream before A's create lands, so B creates its own batch
            await self._successor()

    async def save_state(self, state: bytes) -> None:
        if not self._before_create:  # B looks upstream after A's create landed, so B adopts A's batch
            await self._successor()
        raise LeaseLostError("batch_gw1", "test")


async def _race(sim: BatchUpstream, blobs: DirBlobs, *, before_create: bool) -> tuple[str, str]:
    """A and B submit the same one-shard batch; returns (the upstream batch B recorded, the one A created)."""
    job = make_job(blobs, input_lines(3))
    worker_a = make_provider(sim, blobs)
    worker_b = make_provider(sim, blobs)
    b_guard = RecordingGuard(sim)

    async def successor() -> None:
        with guarded(b_guard):
            await worker_b.submit(job)

    with guarded(PausedInCreate(successor, before_create=before_create)), pytest.raises(LeaseLostError):
        await worker_a.submit(job)
    recorded = decode_state(b_guard.saved[-1]).shards[0].batch_id
    a_created = [upstream_id for upstream_id in sim.store.batches if upstream_id != recorded]
    await worker_a.aclose()
    await worker_b.aclose()
    assert recorded is not None
    return recorded, a_created[0] if a_created else recorded


async def test_a_create_landing_after_the_lease_was_lost_is_cancelled(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    with capture_logs() as logs:
        recorded, orphan = await _race(deepseek, blobs, before_create=True)
    assert len(deepseek.store.batches) == 2
    assert orphan != recorded
    orphan_lines = [log for log in logs if str(log["event"]).startswith("orphan_")]
    assert [(log["event"], log["upstream_batch_id"]) for log in orphan_lines] == [("orphan_cancelled", orphan)]
    live = [b.id for b in deepseek.store.batches.values() if b.status not in ("cancelling", "cancelled")]
    assert live == [recorded], "only the batch the new holder recorded runs on"
    assert deepseek.recorder.calls["cancel"] == 1


async def test_a_create_the_new_holder_adopted_is_not_cancelled(deepseek: BatchUpstream, blobs: DirBlobs) -> None:
    recorded, created = await _race(deepseek, blobs, before_create=False)
    assert list(deepseek.store.batches) == [recorded]
    assert created == recorded, "B adopted A's batch"
    assert deepseek.store.batches[recorded].status not in ("cancelling", "cancelled")
    assert deepseek.recorder.calls["cancel"] == 0
