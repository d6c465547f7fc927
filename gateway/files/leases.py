"""Per-tenant upload slots in Redis: at most N uploads of one tenant stream at once, across every replica.

A slot is a lease (a random member scored by the unix-ms time it ends) in the tenant's sorted set. The
holder renews it while the upload streams and removes it at the end; a replica that crashes mid-upload
leaves a lease that simply runs out, so a dead upload never holds a slot for longer than `LEASE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import structlog
from redis.exceptions import RedisError

from gateway.core.redis_types import RedisClient
from gateway.redis import keys

__all__ = ["LEASE_SECONDS", "UploadSlots"]

LEASE_SECONDS = 30.0
log = structlog.get_logger("batchgate.uploads")

# Invariant: the set holds at most ARGV[1] unexpired leases; expired ones are dropped before counting.
# Redis' own clock (TIME) scores every lease, so replicas with skewed clocks agree on what has expired.
_ACQUIRE = """
local slots, limit, lease, ttl = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= limit then return 0 end
redis.call('ZADD', slots, now + ttl, lease)
redis.call('PEXPIRE', slots, ttl)
return 1
"""

# Invariant: only a live lease is extended (one that ran out may already have been given to another upload).
_RENEW = """
local slots, lease, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ends = redis.call('ZSCORE', slots, lease)
if not ends or tonumber(ends) <= now then return 0 end
redis.call('ZADD', slots, now + ttl, lease)
if redis.call('PTTL', slots) < ttl then redis.call('PEXPIRE', slots, ttl) end
return 1
"""


class UploadSlots:
    def __init__(self, redis: RedisClient, limit: int, lease_seconds: float = LEASE_SECONDS) -> None:
        self._redis = redis
        self._limit = limit
        self._ttl_ms = int(lease_seconds * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)

    @contextlib.asynccontextmanager
    async def hold(self, tenant: str) -> AsyncIterator[bool]:
        """Yield True while holding one of `tenant`'s slots (renewed in the background), False when none is free."""
        key = keys.upload_leases(tenant)
        lease = secrets.token_hex(8)
        if not await self._acquire(keys=[key], args=[self._limit, lease, self._ttl_ms]):
            yield False
            return
        renewer = asyncio.create_task(self._keep(key, lease))
        try:
            yield True
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self._redis.zrem(key, lease)

    async def _keep(self, key: str, lease: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._renew(keys=[key], args=[lease, self._ttl_ms])
            except (RedisError, OSError) as exc:  # the upload goes on; a lost lease only frees a slot early
                log.warning("upload_lease_renew_failed", error=str(exc))
