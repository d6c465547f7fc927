"""Gauges read from Redis on a timer: batches by status, the oldest open batch per status, budgets.

A scrape runs prometheus_client's synchronous collect(), which cannot await Redis, so each process that
serves metrics refreshes these from its own task (`refresh_every`). Prometheus rules (deploy/prometheus/rules)
alert on them: stuck batches, and budgets at 50/80/100 %.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog
from redis.exceptions import RedisError

from accounting.metrics import StatusSnapshot
from accounting.records import month_of
from gateway.redis import keys
from gateway.services import Services

__all__ = [
    "BUDGET_REFRESH_SECONDS",
    "STATUS_REFRESH_SECONDS",
    "refresh_every",
    "update_budget_gauges",
    "update_deferred_lines",
    "update_oldest_ages",
    "update_status_counts",
]

STATUS_REFRESH_SECONDS = 5.0
BUDGET_REFRESH_SECONDS = 15.0
log = structlog.get_logger("batchgate.gauges")


async def refresh_every(
    seconds: float, stop: asyncio.Event, update: Callable[[], Awaitable[None]], failure_event: str
) -> None:
    """Run `update` now and every `seconds` until `stop` is set; a Redis hiccup is logged and retried next tick."""
    while not stop.is_set():
        try:
            await update()
        except (RedisError, OSError) as exc:
            log.warning(failure_event, error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def update_status_counts(services: Services, snapshot: StatusSnapshot) -> None:
    """The batches-by-status gauge, from Redis, so every replica reports the same numbers."""
    counts = await services.batches.count_by_status()
    snapshot.update({status.value: count for status, count in counts.items()})


async def update_oldest_ages(services: Services) -> None:
    """`batchgate_batch_oldest_age_seconds{status}`: what the BatchgateBatchStuck alert watches."""
    now = int(time.time())
    for status, entered in (await services.batches.oldest_by_status()).items():
        services.worker_health.oldest_age.labels(status.value).set(0 if entered is None else now - entered)


async def update_budget_gauges(services: Services) -> None:
    """Every tenant with a monthly budget and every tag budget: the budget and its settled spend this UTC month."""
    month = month_of(int(time.time()))
    for tenant in services.settings.tenants:
        if tenant.monthly_budget_usd is not None:
            settled, _reserved = await services.ledger.month_spend(tenant.name, month)
            services.metrics.set_tenant_budget(tenant.name, tenant.monthly_budget_usd, settled)
    for budget in services.settings.accounting.budgets():
        settled, _reserved = await services.tag_budgets.month_spend(budget, month)
        services.metrics.set_tag_budget(budget.key, budget.value, budget.monthly_usd, settled)


async def update_deferred_lines(services: Services) -> None:
    """`batchgate_deferred_lines{provider}`: lines waiting for an off-peak window, summed from Redis."""
    for name, provider in services.settings.providers.items():
        if provider.deferral_limits() is not None:
            counts = await services.redis.hvals(keys.deferred_lines(name))
            services.metrics.set_deferred_lines(name, sum(int(count) for count in counts))
