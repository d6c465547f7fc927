"""Webhook endpoints and the delivery queue on a real Redis Cluster and Sentinel: every script's keys in one slot."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from gateway.core.redis_types import RedisClient
from gateway.redis.client import open_redis
from gateway.webhooks import Delivery, DeliveryQueue, EndpointStore
from gateway.webhooks.records import EndpointRecord
from gateway.webhooks.signing import new_secret


@pytest.fixture
async def client(topology_url: str) -> AsyncIterator[RedisClient]:
    redis = open_redis(topology_url)
    yield redis
    await redis.aclose()


async def test_endpoint_scripts_and_the_queue(client: RedisClient) -> None:
    store = EndpointStore(client)
    record = EndpointRecord(
        id="we_1",
        tenant="alpha",
        name="n",
        url="https://8.8.8.8/",
        event_types=("batch.completed",),
        created_at=1,
        updated_at=1,
        secret=new_secret(),
    )
    assert await store.create(record, limit=1)
    assert not await store.create(record, limit=1)
    rotated = await store.rotate("we_1", "alpha", secret=new_secret(), old_valid_until=2**31, now=2)
    assert rotated is not None
    assert rotated.old_secret == record.secret
    assert [r.id for r in await store.all("alpha")] == ["we_1"]

    queue = DeliveryQueue(client)
    deliveries = [
        Delivery(
            id=f"wh_{i}",
            event_id="evt",
            event_type="batch.completed",
            endpoint_id="we_1",
            tenant="alpha",
            batch_id="batch_1",
            body="{}",
            created_at=int(time.time()),
        )
        for i in range(3)
    ]
    assert await queue.enqueue_once("batch_1", "evt", deliveries, now_ms=0)
    claimed = await queue.claim(now_ms=1, lease_ms=1000, limit=10)
    assert sorted(d.id for d in claimed) == ["wh_0", "wh_1", "wh_2"]
    for delivery in claimed:
        assert await queue.finish(delivery)
    assert await store.delete("we_1", "alpha")
