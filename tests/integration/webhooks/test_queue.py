"""The delivery queue on a real Redis: queued once per batch, one holder per delivery, fenced releases,
a dead holder's delivery due again after its lease, and the Deliverer's retry-then-deliver path."""

from __future__ import annotations

import asyncio
import time

import httpx
import msgspec
import openai
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from gateway.batches import BatchRecord, BatchStatus
from gateway.config.settings import WebhooksSettings
from gateway.webhooks import Deliverer, Delivery, DeliveryQueue, EndpointStore, enqueue_batch_event, open_client, send
from gateway.webhooks.records import EndpointRecord
from gateway.webhooks.signing import new_secret
from tests.support.webhook_receiver import WebhookReceiver

SDK = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")


def _delivery(webhook_id: str) -> Delivery:
    return Delivery(
        id=webhook_id,
        event_id="evt_1",
        event_type="batch.completed",
        endpoint_id="we_1",
        tenant="alpha",
        batch_id="batch_1",
        body='{"object":"event"}',
        created_at=int(time.time()),
    )


def _endpoint(url: str, tenant: str = "alpha", types: tuple[str, ...] = ("batch.completed",)) -> EndpointRecord:
    now = int(time.time())
    return EndpointRecord(
        id=f"we_{tenant}_{len(types)}",
        tenant=tenant,
        name="n",
        url=url,
        event_types=types,
        created_at=now,
        updated_at=now,
        secret=new_secret(),
    )


async def test_a_batch_is_enqueued_once(redis_client: aioredis.Redis) -> None:
    queue = DeliveryQueue(redis_client)
    assert await queue.enqueue_once("batch_1", "evt_1", [_delivery("wh_1")], now_ms=0)
    assert not await queue.enqueue_once("batch_1", "evt_2", [_delivery("wh_2")], now_ms=0)
    assert await queue.pending() == 1


async def test_one_holder_at_a_time_and_fenced_releases(redis_client: aioredis.Redis) -> None:
    queue = DeliveryQueue(redis_client)
    await queue.enqueue_once("batch_1", "evt_1", [_delivery("wh_1")], now_ms=1000)
    first = await queue.claim(now_ms=1000, lease_ms=5000, limit=10)
    assert [d.attempts for d in first] == [1]
    assert await queue.claim(now_ms=2000, lease_ms=5000, limit=10) == []  # held until 6000
    second = await queue.claim(now_ms=6000, lease_ms=5000, limit=10)  # the first holder died
    assert [d.attempts for d in second] == [2]
    assert not await queue.finish(first[0]), "a lapsed holder must not end the delivery"
    assert not await queue.retry(first[0], due_ms=0, error="late"), "nor re-schedule it"
    assert await queue.retry(second[0], due_ms=7000, error="HTTP 500")
    third = await queue.claim(now_ms=7000, lease_ms=5000, limit=10)
    assert third[0].last_error == "HTTP 500"
    assert await queue.finish(third[0])
    assert await queue.pending() == 0


async def test_concurrent_claims_never_share_a_delivery(redis_client: aioredis.Redis) -> None:
    queue = DeliveryQueue(redis_client)
    for index in range(50):
        await queue.enqueue_once(f"batch_{index}", "evt", [_delivery(f"wh_{index}")], now_ms=0)
    ids: list[str] = []
    for _ in range(20):  # rounds of 12 racing workers: racers reading the same due ids get disjoint shares
        claims = await asyncio.gather(*(queue.claim(now_ms=10, lease_ms=60_000, limit=7) for _ in range(12)))
        ids += [d.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)), "a delivery was claimed twice within its lease"
    assert sorted(ids) == sorted(f"wh_{i}" for i in range(50))


async def test_enqueue_picks_the_tenants_subscribed_endpoints(redis_client: aioredis.Redis) -> None:
    store = EndpointStore(redis_client)
    subscribed = _endpoint("https://8.8.8.8/a", types=("batch.completed", "batch.failed"))
    other_type = _endpoint("https://8.8.8.8/b", types=("batch.failed",))
    other_tenant = _endpoint("https://8.8.8.8/c", tenant="beta", types=("batch.completed", "batch.failed"))
    for record in (subscribed, other_type, other_tenant):
        assert await store.create(record, limit=5)
    batch = BatchRecord(
        id="batch_x", tenant="alpha", endpoint="/v1/chat/completions", input_file_id="file-1", created_at=1
    )
    batch = msgspec.structs.replace(batch, status=BatchStatus.COMPLETED, completed_at=123)
    await enqueue_batch_event(redis_client, batch)
    await enqueue_batch_event(redis_client, batch)  # the terminal step ran again
    [delivery] = await DeliveryQueue(redis_client).claim(now_ms=int(time.time() * 1000), lease_ms=1000, limit=10)
    assert delivery.endpoint_id == subscribed.id
    event = msgspec.json.decode(delivery.body)
    assert event == {
        "object": "event",
        "id": delivery.event_id,
        "type": "batch.completed",
        "created_at": 123,
        "data": {"id": "batch_x"},
    }


async def test_the_deliverer_retries_until_a_2xx_and_signs_every_attempt(redis_client: aioredis.Redis) -> None:
    settings = WebhooksSettings(allowed_hosts=["127.0.0.1"], first_retry_seconds=0.05, max_retry_seconds=0.1)
    with WebhookReceiver(fail_first=3) as receiver:
        endpoint = _endpoint(receiver.url)
        await EndpointStore(redis_client).create(endpoint, limit=5)
        queue = DeliveryQueue(redis_client)
        delivery = msgspec.structs.replace(_delivery("wh_r"), endpoint_id=endpoint.id)
        await queue.enqueue_once("batch_1", "evt_1", [delivery], now_ms=0)
        registry = CollectorRegistry()
        deliverer = Deliverer(redis_client, settings, registry)
        async with open_client(settings.timeout_seconds) as http:
            for _ in range(200):
                for claimed in await queue.claim(now_ms=int(time.time() * 1000), lease_ms=5000, limit=1):
                    await deliverer.deliver(http, claimed)
                if await queue.pending() == 0:
                    break
                await asyncio.sleep(0.02)
        statuses = [r.status for r in receiver.received]
        assert statuses == [500, 500, 500, 200]
        for received in receiver.received:
            SDK.webhooks.verify_signature(received.body, received.headers, secret=endpoint.secret)
            assert received.headers["webhook-id"] == "wh_r"  # one id across retries: receivers dedupe on it
    sample = registry.get_sample_value
    assert (
        sample(
            "batchgate_webhook_attempts_total", {"tenant": "alpha", "event_type": "batch.completed", "result": "5xx"}
        )
        == 3
    )
    assert (
        sample(
            "batchgate_webhook_deliveries_total",
            {"tenant": "alpha", "event_type": "batch.completed", "outcome": "delivered"},
        )
        == 1
    )


async def test_redirects_are_not_followed(redis_client: aioredis.Redis) -> None:
    settings = WebhooksSettings(allowed_hosts=["127.0.0.1"])
    with WebhookReceiver() as receiver:
        endpoint = _endpoint(receiver.url.replace("/hooks", "/redirect"))
        await EndpointStore(redis_client).create(endpoint, limit=5)
        queue = DeliveryQueue(redis_client)
        await queue.enqueue_once(
            "batch_1", "evt_1", [msgspec.structs.replace(_delivery("wh_3"), endpoint_id=endpoint.id)], now_ms=0
        )
        deliverer = Deliverer(redis_client, settings, CollectorRegistry())
        async with open_client(settings.timeout_seconds) as http:
            [claimed] = await queue.claim(now_ms=int(time.time() * 1000), lease_ms=5000, limit=1)
            await deliverer.deliver(http, claimed)
        assert receiver.received == [], "the 302 must not be followed to /hooks"
        assert await queue.pending() == 1, "a 3xx is a failed attempt"


async def test_an_attempt_past_the_retry_window_is_abandoned(redis_client: aioredis.Redis) -> None:
    settings = WebhooksSettings(allowed_hosts=["127.0.0.1"])
    with WebhookReceiver(fail_first=99) as receiver:
        endpoint = _endpoint(receiver.url)
        await EndpointStore(redis_client).create(endpoint, limit=5)
        queue = DeliveryQueue(redis_client)
        old = msgspec.structs.replace(
            _delivery("wh_old"), endpoint_id=endpoint.id, created_at=int(time.time()) - settings.retry_for_seconds
        )
        await queue.enqueue_once("batch_1", "evt_1", [old], now_ms=0)
        registry = CollectorRegistry()
        async with open_client(settings.timeout_seconds) as http:
            [claimed] = await queue.claim(now_ms=int(time.time() * 1000), lease_ms=5000, limit=1)
            await Deliverer(redis_client, settings, registry).deliver(http, claimed)
        assert len(receiver.received) == 1
        assert await queue.pending() == 0
    labels = {"tenant": "alpha", "event_type": "batch.completed", "outcome": "abandoned"}
    assert registry.get_sample_value("batchgate_webhook_deliveries_total", labels) == 1


async def test_nothing_is_sent_to_a_refused_address() -> None:
    """The delivery-time guard (after resolution) refuses what create-time checks would have: no request made."""
    record = _endpoint("https://127.0.0.1:1/hook")
    async with httpx.AsyncClient() as http:
        result = await send(http, record, "wh", b"{}", allowed_hosts=[], timeout_seconds=2)
    assert result.result == "refused"
    assert result.error is not None
    assert "loopback" in result.error
