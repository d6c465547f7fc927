"""Cancel, complete, expire and fail racing on the same batches: only legal moves, one terminal state each."""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
from pathlib import Path

import redis.asyncio as aioredis

from gateway.batches import TERMINAL, TRANSITIONS, BatchStatus, BatchStore, timestamp_field
from gateway.redis import keys
from tests.integration.batches.racer import race
from tests.integration.batches.support import new_record

REPO = Path(__file__).resolve().parents[3]


async def _in_progress_batches(store: BatchStore, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        record = new_record()
        await store.create(record)
        await store.transition(record.id, BatchStatus.IN_PROGRESS, cause="validated", now=2_000)
        ids.append(record.id)
    return ids


async def _assert_consistent(store: BatchStore, redis: aioredis.Redis, batch_ids: list[str]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for batch_id in batch_ids:
        record = await store.get(batch_id, tenant=None)
        assert record is not None
        assert record.status in TERMINAL
        events = await store.events(batch_id)
        assert events[0].to is BatchStatus.VALIDATING
        for previous, event in itertools.pairwise(events):
            assert event.from_status is previous.to  # a chain: no lost or interleaved update
            assert event.to in TRANSITIONS[previous.to]
        assert [e.to for e in events if e.to in TERMINAL] == [record.status]  # exactly one terminal event
        assert getattr(record, timestamp_field(record.status)) == events[-1].time
        holding = [s for s in BatchStatus if await redis.zscore(keys.batches_by_status(s.value), batch_id) is not None]
        assert holding == [record.status]
        outcomes[record.status.value] = outcomes.get(record.status.value, 0) + 1
    assert await store.expired_candidates(now=10**12, limit=1000) == []
    counts = await store.count_by_status()
    assert sum(counts[s] for s in TERMINAL) == len(batch_ids)
    return outcomes


async def test_racing_tasks_leave_one_terminal_state_each(redis_client: aioredis.Redis) -> None:
    store = BatchStore(redis_client)
    batch_ids = await _in_progress_batches(store, 60)
    await race(store, batch_ids, random.Random(7))
    outcomes = await _assert_consistent(store, redis_client, batch_ids)
    assert len(outcomes) >= 2, outcomes  # the race really raced


async def test_racing_processes_with_their_own_connections(redis_client: aioredis.Redis, redis_url: str) -> None:
    store = BatchStore(redis_client)
    batch_ids = await _in_progress_batches(store, 40)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.batches.racer", redis_url, str(seed), *batch_ids, cwd=REPO
        )
        for seed in (1, 2)
    ]
    await race(store, batch_ids, random.Random(3))
    assert [await process.wait() for process in processes] == [0, 0]
    await _assert_consistent(store, redis_client, batch_ids)
