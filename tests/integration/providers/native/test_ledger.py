"""The micro-batched ledger against a real Redis: many lines per script call, packed into one argument."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from providers import keys
from providers.native.ledger import Ledger

ODD_IDS = ["plain", "with:colon", "12:34", "new\nline", "ünïcödé-✓", ""]


async def test_grants_outcomes_and_releases_in_one_flush(redis_client: aioredis.Redis) -> None:
    meta = keys.native_meta("b1")
    await redis_client.hset(meta, mapping={"total": len(ODD_IDS), "expires_at": int(time.time()) + 60})
    ledger = Ledger(redis_client, max_ops=500)
    try:
        grants = await asyncio.gather(*(ledger.reserve("b1", cid) for cid in ODD_IDS))
        assert grants == [1] * len(ODD_IDS)
        assert int(await redis_client.hget(meta, "inflight") or 0) == len(ODD_IDS)
        told: list[BaseException | None] = []
        for i, cid in enumerate(ODD_IDS[:-1]):
            ledger.record("b1", cid, f"line {i}: {cid}".encode(), ok=i % 2 == 0, done=told.append)
        await ledger.release("b1")  # the last id gives its grant back without an outcome
        assert told == [None] * (len(ODD_IDS) - 1)
        results = await redis_client.hgetall(keys.native_results("b1"))
        assert results == {cid.encode(): f"line {i}: {cid}".encode() for i, cid in enumerate(ODD_IDS[:-1])}
        counters = await redis_client.hmget(meta, ["inflight", "completed", "failed"])
        assert [int(v or 0) for v in counters] == [0, 3, 2]
        again = await asyncio.gather(*(ledger.reserve("b1", cid) for cid in ODD_IDS))
        assert again == [-1] * (len(ODD_IDS) - 1) + [2]  # recorded lines are done; the released one retries
    finally:
        await ledger.aclose()


async def test_a_second_outcome_for_a_line_changes_nothing(redis_client: aioredis.Redis) -> None:
    meta = keys.native_meta("b2")
    await redis_client.hset(meta, mapping={"total": 1, "expires_at": int(time.time()) + 60})
    ledger = Ledger(redis_client, max_ops=500)
    try:
        await asyncio.gather(ledger.reserve("b2", "c"), ledger.reserve("b2", "c"))
        done = asyncio.get_running_loop().create_future()
        ledger.record("b2", "c", b"first", ok=True, done=lambda _: None)
        ledger.record("b2", "c", b"second", ok=False, done=done.set_result)
        assert await done is None
        assert await redis_client.hget(keys.native_results("b2"), "c") == b"first"
        assert [int(v or 0) for v in await redis_client.hmget(meta, ["completed", "failed", "inflight"])] == [1, 0, 0]
    finally:
        await ledger.aclose()


async def test_a_batch_gone_or_cancelled_refuses_grants(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client, max_ops=500)
    try:
        assert await ledger.reserve("missing", "c") == -4
        meta = keys.native_meta("b3")
        await redis_client.hset(meta, mapping={"total": 1, "expires_at": int(time.time()) + 60, "cancelled_at": "1"})
        assert await ledger.reserve("b3", "c") == -2
        await redis_client.hset(keys.native_meta("b4"), mapping={"total": 1, "expires_at": int(time.time()) - 1})
        assert await ledger.reserve("b4", "c") == -3
    finally:
        await ledger.aclose()


async def test_served_tokens_are_summed_per_multiplier_with_the_first_outcome_only(
    redis_client: aioredis.Redis,
) -> None:
    meta = keys.native_meta("b9")
    await redis_client.hset(meta, mapping={"total": 4, "expires_at": int(time.time()) + 60})
    ledger = Ledger(redis_client, max_ops=500)
    try:
        await asyncio.gather(*(ledger.reserve("b9", cid) for cid in ("a", "b", "c", "d")))
        done = asyncio.get_running_loop().create_future()
        ledger.record("b9", "a", b"1", ok=True, done=lambda _: None, served=b"2:100:25:10:3")
        ledger.record("b9", "b", b"2", ok=True, done=lambda _: None, served=b"2:50:0:5:0")
        ledger.record("b9", "c", b"3", ok=True, done=lambda _: None, served=b"1:7:0:1:0")
        ledger.record("b9", "d", b"4", ok=False, done=lambda _: None)  # no usage: nothing served
        ledger.record("b9", "a", b"again", ok=True, done=done.set_result, served=b"2:100:25:10:3")  # a repeat
        assert await done is None
        fields = await redis_client.hgetall(meta)
        served = {k.decode(): int(v) for k, v in fields.items() if k.startswith(b"served:")}
        assert served == {
            "served:2:in": 150,
            "served:2:cached": 25,
            "served:2:out": 15,
            "served:2:reason": 3,
            "served:1:in": 7,
            "served:1:out": 1,
        }
    finally:
        await ledger.aclose()
