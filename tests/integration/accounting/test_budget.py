"""Budget reservations against a real Redis: atomic admission, release, settlement replacing the hold."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import redis.asyncio as aioredis

from accounting.budget import check_budget
from accounting.ledger import Ledger
from tests.integration.accounting.support import make_record

MONTH = "2026-01"


async def test_concurrent_reservations_never_exceed_the_budget(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(6)]
    try:
        ledgers = [Ledger(client) for client in clients]
        await ledgers[0].settle(make_record("batch_done", list_usd="2", discount="0"))  # 2 USD settled in 2026-01
        decisions = await asyncio.gather(
            *(
                check_budget(
                    ledgers[i % 6],
                    tenant="research",
                    batch_id=f"batch_{i}",
                    estimate_usd=Decimal("0.3"),
                    budget_usd=Decimal("5"),
                    month=MONTH,
                )
                for i in range(40)
            )
        )
        granted = [decision for decision in decisions if decision.allowed]
        assert len(granted) == 10  # (5 - 2) / 0.3
        assert {decision.code for decision in decisions if not decision.allowed} == {"budget_exceeded"}
        assert await ledgers[0].month_spend("research", MONTH) == (Decimal(2), Decimal("3.0"))
    finally:
        for client in clients:
            await client.aclose()


async def test_release_frees_the_budget(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    first = await check_budget(
        ledger, tenant="t", batch_id="batch_a", estimate_usd=Decimal("0.7"), budget_usd=Decimal("1"), month=MONTH
    )
    second = await check_budget(
        ledger, tenant="t", batch_id="batch_b", estimate_usd=Decimal("0.7"), budget_usd=Decimal("1"), month=MONTH
    )
    assert (first.allowed, second.allowed) == (True, False)
    assert second.reserved_usd == Decimal("0.7")
    assert await ledger.release("batch_a")
    assert not await ledger.release("batch_a")
    third = await check_budget(
        ledger, tenant="t", batch_id="batch_b", estimate_usd=Decimal("0.7"), budget_usd=Decimal("1"), month=MONTH
    )
    assert third.allowed
    assert await ledger.month_spend("t", MONTH) == (Decimal(0), Decimal("0.7"))


async def test_settlement_replaces_the_reservation_by_the_real_cost(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    await ledger.reserve("research", "batch_s", Decimal("0.9"), MONTH)
    await ledger.reserve("research", "batch_other_month", Decimal("5"), "2026-02")
    assert await ledger.month_spend("research", MONTH) == (Decimal(0), Decimal("0.9"))
    await ledger.settle(make_record("batch_s", list_usd="0.1", discount="0.5"))
    assert await ledger.month_spend("research", MONTH) == (Decimal("0.05"), Decimal(0))
    assert await ledger.month_spend("research", "2026-02") == (Decimal(0), Decimal(5))


async def test_reserving_again_replaces_the_estimate_and_exact_boundary_is_allowed(
    redis_client: aioredis.Redis,
) -> None:
    ledger = Ledger(redis_client)
    budget = Decimal("0.000000003")
    for estimate in ("0.000000002", "0.000000003"):
        decision = await check_budget(
            ledger, tenant="t", batch_id="batch_x", estimate_usd=Decimal(estimate), budget_usd=budget, month=MONTH
        )
        assert decision.allowed
    assert await ledger.month_spend("t", MONTH) == (Decimal(0), Decimal("0.000000003"))
    over = await check_budget(
        ledger, tenant="t", batch_id="batch_y", estimate_usd=Decimal("1E-18"), budget_usd=budget, month=MONTH
    )
    assert not over.allowed


async def test_without_a_budget_everything_is_admitted_and_held(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    decision = await check_budget(
        ledger, tenant="t", batch_id="batch_n", estimate_usd=Decimal(10**9), budget_usd=None, month=MONTH
    )
    assert decision.allowed
    assert decision.code is None
    assert await ledger.month_spend("t", MONTH) == (Decimal(0), Decimal(10**9))
