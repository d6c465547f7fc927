"""The `native` kind: batchgate runs the lines itself against a real-time OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.base import Progress, Provider
from providers.kind import BuildContext, ProviderKind
from providers.native.settings import NativeSettings

if TYPE_CHECKING:
    from gateway.core.redis_types import RedisClient

__all__ = ["NATIVE"]


def _build(name: str, settings: NativeSettings, context: BuildContext) -> Provider:
    from providers.native.provider import NativeProvider  # redis and httpx only when built

    key = context.api_key(settings)
    return NativeProvider(
        name, settings, context.redis, context.blobs, key, worker_id=context.worker_id, clock=context.clock
    )


async def _live_progress(redis: RedisClient, batch_id: str) -> Progress | None:
    from providers.native.progress import live_progress  # redis only when read

    return await live_progress(redis, batch_id)


NATIVE = ProviderKind("native", NativeSettings, _build, live_progress=_live_progress)
