"""Webhook events: OpenAI's payload (`{object: "event", id, type, created_at, data: {id}}`) and the one call
that queues a terminal batch's event for every endpoint of its tenant subscribed to that type."""

from __future__ import annotations

import time
from typing import Literal

import msgspec

from gateway.batches import TERMINAL, BatchRecord, timestamp_field
from gateway.core.ids import new_event_id, new_webhook_id
from gateway.core.redis_types import RedisClient
from gateway.webhooks.endpoints import EndpointStore
from gateway.webhooks.queue import Delivery, DeliveryQueue

__all__ = ["Event", "EventData", "encode_event", "enqueue_batch_event"]


class EventData(msgspec.Struct, kw_only=True):
    id: str


class Event(msgspec.Struct, kw_only=True, omit_defaults=False):
    object: Literal["event"] = "event"
    id: str
    type: str
    created_at: int
    data: EventData


def encode_event(event_type: str, batch_id: str, created_at: int, event_id: str | None = None) -> bytes:
    event = Event(id=event_id or new_event_id(), type=event_type, created_at=created_at, data=EventData(id=batch_id))
    return msgspec.json.encode(event)


async def enqueue_batch_event(redis: RedisClient, record: BatchRecord) -> None:
    """Queue `batch.<status>` for the tenant's subscribed endpoints; call once the batch is terminal and
    settled. Safe to repeat: a batch's event is queued once, however often its last step runs."""
    if record.status not in TERMINAL:
        return
    event_type = f"batch.{record.status.value}"
    event_id = new_event_id()
    created_at = getattr(record, timestamp_field(record.status)) or int(time.time())
    body = encode_event(event_type, record.id, created_at, event_id).decode()
    endpoints = await EndpointStore(redis).all(record.tenant)
    deliveries = [
        Delivery(
            id=new_webhook_id(),
            event_id=event_id,
            event_type=event_type,
            endpoint_id=endpoint.id,
            tenant=record.tenant,
            batch_id=record.id,
            body=body,
            created_at=int(time.time()),
        )
        for endpoint in endpoints
        if event_type in endpoint.event_types
    ]
    await DeliveryQueue(redis).enqueue_once(record.id, event_id, deliveries, now_ms=int(time.time() * 1000))
