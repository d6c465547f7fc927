"""Every (from, to) pair through the real Lua script: applied iff the table allows it."""

from __future__ import annotations

import itertools

import pytest
import redis.asyncio as aioredis

from gateway.batches import (
    TERMINAL,
    TRANSITIONS,
    BatchStatus,
    BatchStore,
    IllegalTransitionError,
    RequestCounts,
    timestamp_field,
)
from gateway.redis import keys
from tests.integration.batches.support import new_record, path_to

PAIRS = list(itertools.product(BatchStatus, BatchStatus))
STAMPS = [timestamp_field(s) for s in BatchStatus]


async def _indexes_holding(redis: aioredis.Redis, batch_id: str) -> set[BatchStatus]:
    return {s for s in BatchStatus if await redis.zscore(keys.batches_by_status(s.value), batch_id) is not None}


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a.value}->{b.value}" for a, b in PAIRS])
async def test_transition_pair(redis_client: aioredis.Redis, start: BatchStatus, to: BatchStatus) -> None:
    store = BatchStore(redis_client)
    record = new_record()
    await store.create(record)
    now = 2_000
    for step in path_to(start):
        now += 10
        await store.transition(record.id, step, cause="setup", now=now)
    before = await store.get(record.id, tenant=None)
    assert before is not None
    assert before.status is start
    events_before = await store.events(record.id)

    if to in TRANSITIONS[start]:
        after = await store.transition(record.id, to, cause="test", now=9_999, updates={"attempts": 7})
        assert after is not None
        assert after == await store.get(record.id, tenant="acme")
        assert after.status is to
        assert after.attempts == 7
        for stamp in STAMPS:
            expected = 9_999 if stamp == timestamp_field(to) else getattr(before, stamp)
            assert getattr(after, stamp) == expected, stamp
        events = await store.events(record.id)
        assert len(events) == len(events_before) + 1
        assert (events[-1].from_status, events[-1].to, events[-1].time, events[-1].cause) == (start, to, 9_999, "test")
        assert await _indexes_holding(redis_client, record.id) == {to}
        in_expiry = await redis_client.zscore(keys.batches_by_expiry(), record.id) is not None
        assert in_expiry is (to not in TERMINAL)
    else:
        with pytest.raises(IllegalTransitionError) as refused:
            await store.transition(record.id, to, cause="test", now=9_999, updates={"attempts": 7})
        assert refused.value.current is start
        assert refused.value.to is to
        assert await store.get(record.id, tenant=None) == before
        assert await store.events(record.id) == events_before
        assert await _indexes_holding(redis_client, record.id) == {start}


async def test_unknown_batch_is_none_and_writes_nothing(redis_client: aioredis.Redis) -> None:
    store = BatchStore(redis_client)
    assert await store.transition("batch_nope", BatchStatus.FAILED, cause="x", now=1) is None
    assert await redis_client.keys("*") == []


async def test_only_from_narrows_the_table(redis_client: aioredis.Redis) -> None:
    store = BatchStore(redis_client)
    record = new_record()
    await store.create(record)
    with pytest.raises(IllegalTransitionError):
        await store.transition(record.id, BatchStatus.CANCELLING, cause="x", now=5, only_from={BatchStatus.IN_PROGRESS})
    with pytest.raises(IllegalTransitionError):
        await store.transition(record.id, BatchStatus.CANCELLING, cause="x", now=5, only_from=())
    counts = RequestCounts(total=4)
    moved = await store.transition(
        record.id, BatchStatus.IN_PROGRESS, cause="validated", now=6, updates={"request_counts": counts},
        only_from={BatchStatus.VALIDATING},
    )  # fmt: skip
    assert moved is not None
    assert moved.request_counts == counts
    assert moved.in_progress_at == 6


async def test_updates_cannot_change_status_or_identity(redis_client: aioredis.Redis) -> None:
    store = BatchStore(redis_client)
    record = new_record()
    await store.create(record)
    with pytest.raises(ValueError, match="status"):
        await store.transition(record.id, BatchStatus.FAILED, cause="x", now=5, updates={"status": "completed"})
    assert (await store.get(record.id, tenant=None)) == record
