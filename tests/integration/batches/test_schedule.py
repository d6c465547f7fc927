from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.batches import Claim, Schedule

LEASE = 1_000


@pytest.fixture
async def second_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def schedule(redis_client: aioredis.Redis) -> Schedule:
    return Schedule(redis_client)


async def test_concurrent_claimers_never_share_an_id_within_a_lease(
    redis_client: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    first, second = Schedule(redis_client), Schedule(second_client)
    ids = [f"batch_{i:03}" for i in range(200)]
    for index, batch_id in enumerate(ids):
        assert await first.add(batch_id, due_ms=index)
    claimers = [s.claim(now_ms=500, lease_ms=LEASE, limit=7) for _ in range(20) for s in (first, second)]
    claimed = [claim for batch in await asyncio.gather(*claimers) for claim in batch]
    assert sorted(c.batch_id for c in claimed) == ids  # every due id once: 40 x 7 slots for 200 ids
    assert len({c.token for c in claimed}) == len(claimed)
    assert await first.claim(now_ms=500 + LEASE - 1, lease_ms=LEASE, limit=500) == []
    assert await first.due_at(ids[0]) == 500 + LEASE


async def test_only_due_ids_are_claimed_soonest_first(schedule: Schedule) -> None:
    await schedule.add("b_late", due_ms=300)
    await schedule.add("b_early", due_ms=100)
    await schedule.add("b_mid", due_ms=200)
    assert [c.batch_id for c in await schedule.claim(now_ms=250, lease_ms=LEASE, limit=10)] == ["b_early", "b_mid"]
    assert [c.batch_id for c in await schedule.claim(now_ms=250, lease_ms=LEASE, limit=10)] == []
    assert await schedule.size() == 3


async def test_an_unrenewed_claim_comes_back_after_its_lease_and_the_old_token_is_fenced(schedule: Schedule) -> None:
    await schedule.add("b1", due_ms=0)
    [old] = await schedule.claim(now_ms=10, lease_ms=LEASE, limit=1)
    [new] = await schedule.claim(now_ms=10 + LEASE, lease_ms=LEASE, limit=1)
    assert new.batch_id == "b1"
    assert new.token > old.token
    assert not await schedule.renew(old, now_ms=10 + LEASE, lease_ms=LEASE)
    assert not await schedule.reschedule(old, due_ms=1)  # the slow worker cannot move the new owner's id
    assert not await schedule.remove(old)
    assert await schedule.due_at("b1") == 10 + 2 * LEASE
    assert await schedule.reschedule(new, due_ms=5_000)
    assert await schedule.due_at("b1") == 5_000
    assert not await schedule.reschedule(new, due_ms=6_000)  # a released claim is spent


async def test_renew_keeps_the_claim(schedule: Schedule) -> None:
    await schedule.add("b1", due_ms=0)
    [claim] = await schedule.claim(now_ms=0, lease_ms=LEASE, limit=1)
    assert await schedule.renew(claim, now_ms=900, lease_ms=LEASE)
    assert await schedule.claim(now_ms=LEASE, lease_ms=LEASE, limit=1) == []
    assert [c.batch_id for c in await schedule.claim(now_ms=1_900, lease_ms=LEASE, limit=1)] == ["b1"]


async def test_remove_and_discard(schedule: Schedule) -> None:
    await schedule.add("b1", due_ms=0)
    await schedule.add("b2", due_ms=0)
    claims = await schedule.claim(now_ms=0, lease_ms=LEASE, limit=2)
    assert await schedule.remove(claims[0])
    assert await schedule.due_at(claims[0].batch_id) is None
    await schedule.discard(claims[1].batch_id)
    assert await schedule.size() == 0
    assert not await schedule.reschedule(claims[1], due_ms=0)


async def test_add_moves_earlier_but_never_breaks_a_live_claim(schedule: Schedule) -> None:
    assert await schedule.add("b1", due_ms=1_000)
    assert await schedule.add("b1", due_ms=5_000)  # not later: stays 1000
    assert await schedule.due_at("b1") == 1_000
    assert await schedule.add("b1", due_ms=400)
    assert await schedule.due_at("b1") == 400
    [claim] = await schedule.claim(now_ms=500, lease_ms=LEASE, limit=1)
    assert not await schedule.add("b1", due_ms=0)
    assert await schedule.claim(now_ms=600, lease_ms=LEASE, limit=1) == []
    assert await schedule.reschedule(claim, due_ms=9_000)
    assert await schedule.add("b1", due_ms=700)  # released: a poke makes it due sooner again
    assert await schedule.due_at("b1") == 700
    assert isinstance(claim, Claim)
