"""Keep the budget gauges fresh from Redis: each budgeted tenant and tag value, its budget and month spend.

Prometheus rules (deploy/prometheus/rules) divide spend by budget to alert at 50/80/100 %. A scrape cannot
read Redis (collect() is synchronous), so the API refreshes the gauges on a timer, like the status counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from redis.exceptions import RedisError

from accounting.records import month_of
from gateway.services import Services

__all__ = ["BUDGET_REFRESH_SECONDS", "refresh_budget_gauges", "update_budget_gauges"]

BUDGET_REFRESH_SECONDS = 15.0
log = structlog.get_logger("batchgate.budgets")


async def update_budget_gauges(services: Services) -> None:
    """One refresh: every tenant with a monthly budget and every tag budget, this UTC month."""
    month = month_of(int(time.time()))
    for tenant in services.settings.tenants:
        if tenant.monthly_budget_usd is not None:
            settled, _reserved = await services.ledger.month_spend(tenant.name, month)
            services.metrics.set_tenant_budget(tenant.name, tenant.monthly_budget_usd, settled)
    for budget in services.settings.accounting.budgets():
        settled, _reserved = await services.tag_budgets.month_spend(budget, month)
        services.metrics.set_tag_budget(budget.key, budget.value, budget.monthly_usd, settled)


async def refresh_budget_gauges(services: Services, stop: asyncio.Event) -> None:
    """Refresh until `stop` is set; a Redis hiccup is logged and retried at the next tick."""
    while not stop.is_set():
        try:
            await update_budget_gauges(services)
        except (RedisError, OSError) as exc:
            log.warning("budget_gauges_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), BUDGET_REFRESH_SECONDS)
