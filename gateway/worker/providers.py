"""The configured providers of one worker process, built from settings by kind (a factory table).

API keys are read from the environment variables the config names, here at the entry point, and
handed only to the provider that sends them upstream.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.config.settings import Settings
from gateway.core.clock import Clock, system_clock
from gateway.core.redis_types import RedisClient
from providers import native, openai_batch
from providers.base import BlobStore, Provider, UpstreamObserver
from providers.config import ProviderSettings

__all__ = ["ProviderSet", "build_providers"]


@dataclass(frozen=True)
class _Shared:
    """What every provider of one process may use."""

    redis: RedisClient
    blobs: BlobStore
    worker_id: str
    observe: UpstreamObserver | None
    clock: Clock


_Factory = Callable[[str, ProviderSettings, str | None, _Shared], Provider]


def _openai_batch(name: str, settings: ProviderSettings, key: str | None, shared: _Shared) -> Provider:
    return openai_batch.build(name, settings, shared.blobs, key, shared.observe)


def _native(name: str, settings: ProviderSettings, key: str | None, shared: _Shared) -> Provider:
    return native.build(name, settings, shared.redis, shared.blobs, key, shared.worker_id, shared.clock)


_FACTORIES: Mapping[str, _Factory] = {"openai_batch": _openai_batch, "native": _native}


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
    clock: Clock = system_clock,
) -> ProviderSet:
    env = os.environ if environ is None else environ
    shared = _Shared(redis=redis, blobs=blobs, worker_id=worker_id, observe=observe, clock=clock)
    providers = {
        name: _FACTORIES[config.kind](name, config, env.get(config.api_key_env) if config.api_key_env else None, shared)
        for name, config in settings.providers.items()
    }
    return ProviderSet(providers)
