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
from gateway.files import lua
from gateway.redis import keys

__all__ = ["LEASE_SECONDS", "UploadSlots"]

LEASE_SECONDS = 30.0
log = structlog.get_logger("batchgate.uploads")


class UploadSlots:
    def __init__(self, redis: RedisClient, limit: int, lease_seconds: float = LEASE_SECONDS) -> None:
        self._redis = redis
        self._limit = limit
        self._ttl_ms = int(lease_seconds * 1000)

    @contextlib.asynccontextmanager
    async def hold(self, tenant: str) -> AsyncIterator[bool]:
        """Yield True while holding one of `tenant`'s slots (renewed in the background), False when none is free."""
        key = keys.upload_leases(tenant)
        lease = secrets.token_hex(8)
        if not await lua.ACQUIRE_SLOT(self._redis, keys=[key], args=[self._limit, lease, self._ttl_ms]):
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
                await lua.RENEW_SLOT(self._redis, keys=[key], args=[lease, self._ttl_ms])
            except (RedisError, OSError) as exc:  # the upload goes on; a lost lease only frees a slot early
                log.warning("upload_lease_renew_failed", error=str(exc))
