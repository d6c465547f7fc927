"""Live progress by provider kind: counts read straight from where a kind records them, for kinds that
record them where the gateway can read them cheaply (the native executor's Redis counters). Other kinds
answer None, and the gateway shows what its last poll mirrored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from gateway.core.redis_types import RedisClient
from providers.base import Progress
from providers.native.progress import live_progress as native_progress

__all__ = ["live_progress"]

_READERS: Mapping[str, Callable[[RedisClient, str], Awaitable[Progress | None]]] = {"native": native_progress}


async def live_progress(kind: str, redis: RedisClient, batch_id: str) -> Progress | None:
    reader = _READERS.get(kind)
    return None if reader is None else await reader(redis, batch_id)
