"""Fencing and sealing in the batch store's scripts, against a real Redis.

A step holding claim T writes only while T is the batch's adopted token; a newer claim's adoption fences
the older one out of every write (update, transition, seal) with LeaseLostError. A sealed batch moves only
to its sealed outcome, whoever asks (a cancel included)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from gateway.batches import BatchStatus, BatchStore, Claim, IllegalTransitionError, LeaseLostError, holding
from gateway.batches.schedule import Schedule
from tests.integration.batches.support import new_record

S = BatchStatus


@pytest.fixture
def store(redis_client: aioredis.Redis) -> BatchStore:
    return BatchStore(redis_client)


async def _two_claims(redis_client: aioredis.Redis, batch_id: str) -> tuple[Claim, Claim]:
    """An old claim whose lease ran out and the newer claim that took the batch over (real schedule tokens)."""
    schedule = Schedule(redis_client)
    await schedule.add(batch_id, 0)
    (old,) = await schedule.claim(now_ms=1_000, lease_ms=10, limit=1)
    (new,) = await schedule.claim(now_ms=2_000, lease_ms=10, limit=1)
    assert new.token > old.token
    return old, new


async def test_a_newer_claim_fences_the_older_out_of_every_write(
    store: BatchStore, redis_client: aioredis.Redis
) -> None:
    record = new_record()
    await store.create(record)
    old, new = await _two_claims(redis_client, record.id)
    adopted = await store.adopt(old)
    assert adopted is not None
    assert adopted.fence_token == old.token
    with holding(old, store):
        assert await store.update(record.id, {"attempts": 1}) is not None  # the old step writes while it holds
    assert await store.adopt(new) is not None
    with holding(old, store):
        with pytest.raises(LeaseLostError):
            await store.update(record.id, {"attempts": 2})
        with pytest.raises(LeaseLostError):
            await store.transition(record.id, S.IN_PROGRESS, cause="stale", now=5)
        with pytest.raises(LeaseLostError):
            await store.seal(record.id, S.FAILED, now=5)
        with pytest.raises(LeaseLostError):
            await store.check_fence(old)
    with pytest.raises(LeaseLostError):
        await store.adopt(old)  # a stale claim never takes the batch back
    with holding(new, store):
        await store.check_fence(new)
        moved = await store.transition(record.id, S.IN_PROGRESS, cause="new holder", now=6)
    assert moved is not None
    assert (moved.status, moved.attempts, moved.fence_token) == (S.IN_PROGRESS, 1, new.token)


async def test_writes_outside_a_step_and_to_other_batches_are_not_fenced(
    store: BatchStore, redis_client: aioredis.Redis
) -> None:
    record, other = new_record(), new_record()
    await store.create(record)
    await store.create(other)
    old, new = await _two_claims(redis_client, record.id)
    await store.adopt(new)
    assert await store.transition(record.id, S.CANCELLING, cause="cancel requested", now=5) is not None  # the API
    with holding(old, store):
        assert await store.update(other.id, {"attempts": 3}) is not None  # the claim is on another batch


async def test_a_sealed_batch_moves_only_to_its_outcome(store: BatchStore) -> None:
    record = new_record()
    await store.create(record)
    await store.transition(record.id, S.IN_PROGRESS, cause="routed", now=2)
    await store.transition(record.id, S.FINALIZING, cause="done upstream", now=3)
    sealed = await store.seal(record.id, S.COMPLETED, now=4, updates={"output_file_id": "file-out"})
    assert sealed is not None
    assert (sealed.status, sealed.closing_status, sealed.closing_at) == (S.FINALIZING, S.COMPLETED, 4)
    assert sealed.output_file_id == "file-out"
    with pytest.raises(IllegalTransitionError):
        await store.transition(record.id, S.CANCELLING, cause="cancel requested", now=5)
    again = await store.seal(record.id, S.EXPIRED, now=6, updates={"output_file_id": "file-other"})
    assert again == sealed, "the first seal wins; a repeat gets it back unchanged"
    done = await store.transition(record.id, S.COMPLETED, cause="settled", now=4)
    assert done is not None
    assert (done.status, done.completed_at) == (S.COMPLETED, 4)
    assert await store.seal(record.id, S.FAILED, now=7) is None  # terminal: nothing to seal


async def test_a_seal_follows_the_transition_table(store: BatchStore) -> None:
    record = new_record()
    await store.create(record)
    await store.transition(record.id, S.IN_PROGRESS, cause="routed", now=2)
    await store.transition(record.id, S.CANCELLING, cause="cancel requested", now=3)
    assert await store.seal(record.id, S.COMPLETED, now=4) is None  # cancelling ends only as cancelled
    with pytest.raises(ValueError, match="terminal"):
        await store.seal(record.id, S.FINALIZING, now=4)
    sealed = await store.seal(record.id, S.CANCELLED, now=4)
    assert sealed is not None
    assert sealed.closing_status is S.CANCELLED
