"""A native batch's counts as the executor records them: one HMGET, cheap enough for every GET of a batch."""

from __future__ import annotations

from gateway.core.redis_types import RedisClient
from providers import keys
from providers.base import Progress

__all__ = ["live_progress"]


async def live_progress(redis: RedisClient, batch_id: str) -> Progress | None:
    """The batch's counts right now (lost lines count as failed), or None when it has no executor state."""
    total, completed, failed, lost = await redis.hmget(
        keys.native_meta(batch_id), ("total", "completed", "failed", "lost")
    )
    if total is None:
        return None
    return Progress(total=int(total), completed=int(completed or 0), failed=int(failed or 0) + int(lost or 0))
