"""The long-lived objects one process shares: built in the app's lifespan (or a worker's), closed on exit."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from accounting.ledger import Ledger
from accounting.metrics import Metrics
from accounting.tag_budgets import TagBudgets
from accounting.tag_labels import TagLabels
from gateway.batches import BatchStore, Schedule
from gateway.config.settings import Settings
from gateway.core.clock import Clock, system_clock
from gateway.core.redis_types import RedisClient
from gateway.files.store import FileStore
from gateway.http.auth import Authenticator
from gateway.ops.liveness import WorkerHealth
from gateway.redis.client import open_redis
from gateway.storage.factory import Storage, open_storage

__all__ = ["Services", "open_services"]


@dataclass
class Services:
    settings: Settings
    redis: RedisClient
    storage: Storage
    files: FileStore
    batches: BatchStore
    schedule: Schedule
    authenticator: Authenticator
    ledger: Ledger
    registry: CollectorRegistry
    metrics: Metrics
    worker_health: WorkerHealth
    tag_budgets: TagBudgets
    tag_labels: TagLabels
    # The business clock: creation and expiry times, price windows, deferral (tests move it).
    clock: Clock = system_clock
    draining: bool = False

    async def aclose(self) -> None:
        await self.redis.aclose()


def _budgeted(settings: Settings) -> list[tuple[str, str]]:
    return [(budget.key, budget.value) for budget in settings.accounting.tag_budgets]


def open_services(settings: Settings, *, clock: Clock = system_clock) -> Services:
    """Create the clients (connections open lazily, on first use)."""
    if not settings.redis.url:
        raise ValueError("settings.redis.url is empty: start the embedded Redis first (gateway.redis.embedded)")
    redis = open_redis(settings.redis.url)
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
        worker_health=WorkerHealth(registry),
        metrics=Metrics(registry, settings.accounting.tag_keys),
        tag_budgets=TagBudgets(redis),
        tag_labels=TagLabels(redis, settings.accounting.tag_label_cap, _budgeted(settings)),
        clock=clock,
    )
