"""The work schedule the workers share: batch ids scored by the unix-ms time they are next due.

A worker `claim`s due ids; the claim re-scores each id to `now + lease`, so no other worker can claim it
while the lease runs, and a worker that dies loses it when the lease runs out. Each claim carries a fencing
token (a counter shared by all claims): `renew`, `reschedule` and fenced `remove` act only while the token
is still the id's current one, so a slow worker whose lease ran out cannot overwrite its successor's plan.

The three keys share the hash tag `{work}`, so the scripts are Redis-Cluster-safe.
"""

from __future__ import annotations

import msgspec

from gateway.batches import lua
from gateway.core.redis_types import RedisClient
from gateway.redis import keys

__all__ = ["Claim", "Schedule"]


class Claim(msgspec.Struct, frozen=True):
    batch_id: str
    token: int


class Schedule:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._keys = [keys.work_due(), keys.work_claims(), keys.work_tokens()]

    async def add(self, batch_id: str, due_ms: int) -> bool:
        """Make the id due at `due_ms` or earlier; no-op (False) while a worker holds a claim on it."""
        return bool(await lua.SCHEDULE_ADD(self._redis, keys=self._keys[:2], args=[batch_id, due_ms]))

    async def claim(self, now_ms: int, lease_ms: int, limit: int) -> list[Claim]:
        """Up to `limit` ids due at or before `now_ms`, soonest first, each leased until `now_ms + lease_ms`."""
        flat = await lua.SCHEDULE_CLAIM(self._redis, keys=self._keys, args=[now_ms, lease_ms, limit])
        return [Claim(flat[i].decode(), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def renew(self, claim: Claim, *, now_ms: int, lease_ms: int) -> bool:
        """Extend the lease to `now_ms + lease_ms`; False when the claim was lost (stop working on it)."""
        return await self._fence(claim, "renew", now_ms + lease_ms)

    async def reschedule(self, claim: Claim, due_ms: int) -> bool:
        """Release the claim and make the id due at `due_ms`; False when the claim was lost."""
        return await self._fence(claim, "reschedule", due_ms)

    async def remove(self, claim: Claim) -> bool:
        """Release the claim and drop the id (its batch is done); False when the claim was lost."""
        return await self._fence(claim, "remove", 0)

    async def discard(self, batch_id: str) -> None:
        """Drop the id whoever holds it (e.g. an operator purging a batch); unfenced."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.work_due(), batch_id)
            pipe.hdel(keys.work_claims(), batch_id)
            await pipe.execute()

    async def due_at(self, batch_id: str) -> int | None:
        """When the id is next due (unix ms; a claimed id's lease end), None when not scheduled."""
        score = await self._redis.zscore(keys.work_due(), batch_id)
        return None if score is None else int(score)

    async def size(self) -> int:
        return int(await self._redis.zcard(keys.work_due()))

    async def _fence(self, claim: Claim, action: str, score: int) -> bool:
        args: list[str | int] = [claim.batch_id, claim.token, action, score]
        return bool(await lua.SCHEDULE_FENCED(self._redis, keys=self._keys[:2], args=args))
