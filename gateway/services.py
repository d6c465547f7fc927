"""The long-lived objects one process shares: built in the app's lifespan (or a worker's), closed on exit."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from accounting.ledger import Ledger
from accounting.metrics import Metrics
from gateway.auth import Authenticator
from gateway.batches import BatchStore, Schedule
from gateway.files.store import FileStore
from gateway.settings import Settings
from gateway.storage_factory import Storage, open_storage

__all__ = ["Services", "open_services"]

REDIS_MAX_CONNECTIONS = 100
REDIS_POOL_WAIT_SECONDS = 10.0


@dataclass
class Services:
    settings: Settings
    redis: aioredis.Redis
    storage: Storage
    files: FileStore
    batches: BatchStore
    schedule: Schedule
    authenticator: Authenticator
    ledger: Ledger
    registry: CollectorRegistry
    metrics: Metrics
    draining: bool = False

    async def aclose(self) -> None:
        await self.redis.aclose()


def open_services(settings: Settings) -> Services:
    """Create the clients (connections open lazily, on first use)."""
    if not settings.redis.url:
        raise ValueError("settings.redis.url is empty: start the embedded Redis first (gateway.embedded_redis)")
    # A blocking pool: under a burst, a request waits for a free connection instead of failing with
    # "Too many connections" (redis-py's default pool raises past 100, which answered 500s under load).
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_SECONDS,
        health_check_interval=30,
    )
    redis = aioredis.Redis.from_pool(pool)
    registry = CollectorRegistry()
    return Services(
        settings=settings,
        redis=redis,
        storage=open_storage(settings),
        files=FileStore(redis),
        batches=BatchStore(redis),
        schedule=Schedule(redis),
        authenticator=Authenticator(settings.tenants),
        ledger=Ledger(redis),
        registry=registry,
        metrics=Metrics(registry),
    )
