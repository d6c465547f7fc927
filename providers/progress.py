"""Live progress by provider kind: counts read straight from where a kind records them, for kinds that
record them where the gateway can read them cheaply (`ProviderKind.live_progress`, e.g. the native
executor's Redis counters). Other kinds answer None, and the gateway shows what its last poll mirrored."""

from __future__ import annotations

from gateway.core.redis_types import RedisClient
from providers.base import Progress
from providers.registry import REGISTRY, KindRegistry

__all__ = ["live_progress"]


async def live_progress(
    kind: str, redis: RedisClient, batch_id: str, kinds: KindRegistry = REGISTRY
) -> Progress | None:
    known = kind in kinds.names  # a kind registered elsewhere (a test's) has no reader here: its last poll shows
    reader = kinds.get(kind).live_progress if known else None
    return None if reader is None else await reader(redis, batch_id)
