"""The long-lived objects one process shares: built in the app's lifespan (or a worker's), closed on exit."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from gateway.auth import Authenticator
from gateway.files.store import FileStore
from gateway.settings import Settings
from gateway.storage import LocalStorage

__all__ = ["Services", "open_services"]


@dataclass
class Services:
    settings: Settings
    redis: aioredis.Redis
    storage: LocalStorage
    files: FileStore
    authenticator: Authenticator
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    draining: bool = False

    async def aclose(self) -> None:
        await self.redis.aclose()


def open_services(settings: Settings) -> Services:
    """Create the clients (connections open lazily, on first use)."""
    if not settings.redis.url:
        raise ValueError("settings.redis.url is empty: start the embedded Redis first (gateway.embedded_redis)")
    redis = aioredis.Redis.from_url(settings.redis.url, health_check_interval=30)
    return Services(
        settings=settings,
        redis=redis,
        storage=LocalStorage(settings.storage_dir),
        files=FileStore(redis),
        authenticator=Authenticator(settings.tenants),
    )
