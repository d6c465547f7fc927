"""Grants asked for in groups against a real Redis: one RESERVE op per group, refusals stop a chunk."""

from __future__ import annotations

import asyncio
import time

import msgspec
import redis.asyncio as aioredis

from providers import keys
from providers.native.grants import Granter
from providers.native.ledger import Grants, Ledger
from providers.native.limits import AdaptiveLimit
from providers.native.lines import ChunkLine
from providers.native.pending import Chunk


def _lines(n: int) -> list[ChunkLine]:
    return [ChunkLine(f"c{i}", msgspec.Raw(b"{}"), 1) for i in range(n)]


async def _batch(client: aioredis.Redis, batch_id: str, expires_in: float = 60, **extra: str) -> int:
    expires_at = int(time.time() + expires_in)
    await client.hset(keys.native_meta(batch_id), mapping={"total": 100, "expires_at": expires_at, **extra})
    return expires_at


async def test_reserve_many_answers_per_line_and_the_expiry(redis_client: aioredis.Redis) -> None:
    expires_at = await _batch(redis_client, "g1")
    ledger = Ledger(redis_client, max_ops=500)
    try:
        first = await ledger.reserve_many("g1", ["a", "b", "a"])
        assert first == Grants([1, 1, 2], expires_at)  # the same id twice in one group: two attempts counted
        assert int(await redis_client.hget(keys.native_meta("g1"), "inflight") or 0) == 3
        assert await ledger.reserve_many("gone", ["a"]) == Grants([-4], 0)
    finally:
        await ledger.aclose()


async def test_lines_are_granted_in_groups_of_at_least_a_quarter_of_the_limit(redis_client: aioredis.Redis) -> None:
    await _batch(redis_client, "g2")
    ledger = Ledger(redis_client, max_ops=500)
    granter = Granter(ledger, AdaptiveLimit(8), max_attempts=3)
    calls: list[int] = []
    reserve_many = ledger.reserve_many

    def counting(batch_id: str, custom_ids: list[str]) -> asyncio.Future[object]:
        calls.append(len(custom_ids))
        return reserve_many(batch_id, custom_ids)

    ledger.reserve_many = counting  # type: ignore[method-assign]
    try:
        chunk = Chunk("g2", "/v1/chat/completions", 20)
        granter.add_chunk(chunk, _lines(20))
        taken = [await granter.take() for _ in range(20)]
        assert [line.custom_id for _, line, _ in taken] == [f"c{i}" for i in range(20)]  # in order
        assert {attempt for _, _, attempt in taken} == {1}
        assert calls[0] == 8  # the first group fills the stock (the concurrency limit)
        assert all(size >= 2 for size in calls)  # later ones: at least a quarter of it
        assert sum(calls) == 20
        assert granter.queued == 0
    finally:
        await ledger.aclose()


async def test_a_refused_batch_stops_its_chunk_and_exhausted_lines_fail(redis_client: aioredis.Redis) -> None:
    await _batch(redis_client, "g3", cancelled_at="1")
    await _batch(redis_client, "g4")
    await redis_client.hset(keys.native_attempts("g4"), "c0", 3)  # every attempt already used (a dead worker)
    ledger = Ledger(redis_client, max_ops=500)
    granter = Granter(ledger, AdaptiveLimit(4), max_attempts=3)
    try:
        cancelled = Chunk("g3", "/v1/chat/completions", 2)
        granter.add_chunk(cancelled, _lines(2))
        await asyncio.wait_for(cancelled.done, 5)  # nothing to send: both lines are done at once
        assert cancelled.stopped
        exhausted = Chunk("g4", "/v1/chat/completions", 1)
        granter.add_chunk(exhausted, _lines(1))
        await asyncio.wait_for(exhausted.done, 5)  # recorded as a failure without being offered to a consumer
        line = msgspec.json.decode(await redis_client.hget(keys.native_results("g4"), "c0"))
        assert line["error"]["code"] == "request_failed"
        assert granter.queued == 0
    finally:
        await ledger.aclose()
