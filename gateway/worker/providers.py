"""The configured providers of one worker process, each built by its kind (`providers.registry`).

API keys are read from the environment variables the config names, here at the entry point, and
handed only to the provider that sends them upstream (`BuildContext.api_key`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gateway.config.settings import Settings
from gateway.core.clock import Clock, system_clock
from gateway.core.redis_types import RedisClient
from providers.base import BlobStore, Provider, UpstreamObserver
from providers.kind import BuildContext
from providers.registry import REGISTRY, KindRegistry

__all__ = ["ProviderSet", "build_providers"]


class ProviderSet:
    """Providers by config name; tests may construct one directly with their own providers."""

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = dict(providers)

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def all(self) -> list[Provider]:
        return list(self._providers.values())

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()


def build_providers(
    settings: Settings,
    redis: RedisClient,
    blobs: BlobStore,
    *,
    worker_id: str,
    observe: UpstreamObserver | None = None,
    environ: Mapping[str, str] | None = None,
    kinds: KindRegistry = REGISTRY,
    clock: Clock = system_clock,
) -> ProviderSet:
    env = os.environ if environ is None else environ
    context = BuildContext(redis=redis, blobs=blobs, worker_id=worker_id, observe=observe, environ=env, clock=clock)
    providers = {
        name: kinds.get(config.kind).make(name, config, context) for name, config in settings.providers.items()
    }
    return ProviderSet(providers)
