"""The delivery queue in Redis, shared by every worker and surviving restarts.

A delivery (one event to one endpoint) is a hash plus a member of the due set scored by when its next
attempt is due. A worker claims due deliveries by moving them to its lease end; if it dies, they are simply
due again when the lease ends. Each claim bumps `attempts`, which is also the fencing token: a worker whose
lease ran out cannot end or re-schedule a delivery another worker has claimed since.
"""

from __future__ import annotations

from typing import cast

import msgspec

from gateway.core.redis_types import RedisClient
from gateway.redis import keys
from gateway.webhooks import lua

__all__ = ["Delivery", "DeliveryQueue"]

# A terminal step may repeat (crash, lost lease) long after its first run only within the batch schedule's
# lease; a month makes a repeated enqueue impossible in practice while letting the markers expire.
MARKER_TTL_SECONDS = 30 * 86400


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # the `webhook-id` header: the same on every attempt, so receivers can drop duplicates
    event_id: str
    event_type: str
    endpoint_id: str
    tenant: str
    batch_id: str
    body: str
    created_at: int  # unix s, when the event was enqueued: retries end `retry_for_seconds` after it
    attempts: int = 0  # claims so far, this one included; the fencing token of the claim
    last_error: str = ""


def _fields(delivery: Delivery) -> dict[str, str]:
    return {name: str(value) for name, value in msgspec.structs.asdict(delivery).items()}


def _decode(flat: list[bytes]) -> Delivery:
    values = [item.decode() for item in flat]
    return msgspec.convert(dict(zip(values[::2], values[1::2], strict=True)), Delivery, strict=False)


class DeliveryQueue:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def enqueue_once(self, batch_id: str, event_id: str, deliveries: list[Delivery], *, now_ms: int) -> bool:
        """Queue the batch's deliveries, due now, unless this batch's event was queued before (False then)."""
        script_keys = [
            keys.webhook_batch_event(batch_id),
            keys.webhook_deliveries_due(),
            *(keys.webhook_delivery(d.id) for d in deliveries),
        ]
        args: list[bytes | str | int] = [event_id, MARKER_TTL_SECONDS, now_ms]
        args += [msgspec.json.encode(_fields(d)) for d in deliveries]
        return bool(await lua.ENQUEUE(self._redis, keys=script_keys, args=args))

    async def claim(self, *, now_ms: int, lease_ms: int, limit: int) -> list[Delivery]:
        """Up to `limit` due deliveries, each now held by the caller until `now_ms + lease_ms`."""
        due = keys.webhook_deliveries_due()
        raw = await self._redis.zrangebyscore(due, "-inf", now_ms, start=0, num=limit)
        ids = [item.decode() for item in cast("list[bytes]", raw)]
        if not ids:
            return []
        script_keys = [due, *(keys.webhook_delivery(i) for i in ids)]
        claimed = await lua.CLAIM(self._redis, keys=script_keys, args=[now_ms, now_ms + lease_ms, *ids])
        return [_decode(flat) for flat in cast("list[list[bytes]]", claimed)]

    async def finish(self, delivery: Delivery) -> bool:
        """Delivered or given up: remove it. False when the caller's claim is no longer the latest."""
        return await self._release_with(delivery, "", "")

    async def retry(self, delivery: Delivery, *, due_ms: int, error: str) -> bool:
        return await self._release_with(delivery, str(due_ms), error)

    async def _release_with(self, delivery: Delivery, due: str, error: str) -> bool:
        script_keys = [keys.webhook_deliveries_due(), keys.webhook_delivery(delivery.id)]
        args: list[str | int] = [delivery.id, delivery.attempts, due, error]
        return bool(await lua.RELEASE(self._redis, keys=script_keys, args=args))

    async def pending(self) -> int:
        return int(await self._redis.zcard(keys.webhook_deliveries_due()))
