"""Tags in the ledger against a real Redis: tag spend settles with the record, tag budgets reserve all-or-nothing
and are released by settlement, metric labels are capped per key across processes, FOCUS sums to the ledger."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal

import redis.asyncio as aioredis

from accounting import keys
from accounting.charges import charges_of
from accounting.cost import price_usage
from accounting.focus import focus_csv
from accounting.ledger import Ledger
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord
from accounting.tag_budgets import TagBudgets
from accounting.tag_labels import TagLabels
from accounting.tags import TagBudget
from accounting.usage import UsageTotals
from tests.support.focus_rules import check_focus_csv

MONTH = "2026-01"
JAN = 1_767_225_600  # 2026-01-01T00:00:00Z
RESEARCH = TagBudget(key="team", value="research", monthly_usd=Decimal("1"))
APOLLO = TagBudget(key="project", value="apollo", monthly_usd=Decimal("0.5"))


def _record(
    batch_id: str,
    tags: dict[str, str],
    *,
    provider: str = "deepseek",
    price: ModelPrice | None = None,
    discount: str = "0",
    tokens: tuple[int, int, int] = (1_000_000, 0, 0),
    settled_at: int = JAN + 60,
) -> LedgerRecord:
    price = price or ModelPrice(input_usd_per_mtok=Decimal("0.3"), output_usd_per_mtok=Decimal("0.6"))
    usage = UsageTotals(input_tokens=tokens[0], cached_input_tokens=tokens[1], output_tokens=tokens[2])
    return LedgerRecord.build(
        batch_id=batch_id,
        tenant="research",
        provider=provider,
        model=f"{provider}-model",
        endpoint="/v1/chat/completions",
        status="completed",
        usage=usage,
        cost=price_usage(usage, price, Decimal(discount)),
        settled_at=settled_at,
        tags=tags,
        charges=charges_of(usage, price, Decimal(discount)),
    )


async def test_tag_budget_refuses_the_batch_that_would_cross_it_naming_the_tag(redis_client: aioredis.Redis) -> None:
    budgets = TagBudgets(redis_client)
    tags = {"team": "research", "project": "apollo"}
    first = await budgets.reserve_within("batch_1", tags, Decimal("0.4"), MONTH, [RESEARCH, APOLLO])
    second = await budgets.reserve_within("batch_2", tags, Decimal("0.4"), MONTH, [RESEARCH, APOLLO])
    assert first.allowed
    assert not second.allowed
    assert second.refused == APOLLO
    assert (second.settled_usd, second.reserved_usd) == (Decimal(0), Decimal("0.4"))
    # All or nothing: the refused batch holds nothing on the research budget either.
    assert await budgets.month_spend(RESEARCH, MONTH) == (Decimal(0), Decimal("0.4"))
    other_project = await budgets.reserve_within("batch_3", {"team": "research"}, Decimal("0.6"), MONTH, [RESEARCH])
    assert other_project.allowed  # 0.4 + 0.6 = 1 ≤ 1
    untouched = await budgets.reserve_within("batch_4", {"team": "ops"}, Decimal("99"), MONTH, [RESEARCH, APOLLO])
    assert untouched.allowed
    assert not await redis_client.hexists(keys.tag_reservation_owners(), "batch_4")


async def test_settlement_moves_the_reservation_into_tag_spend(redis_client: aioredis.Redis) -> None:
    ledger, budgets = Ledger(redis_client), TagBudgets(redis_client)
    tags = {"team": "research", "project": "apollo"}
    assert (await budgets.reserve_within("batch_1", tags, Decimal("0.9"), MONTH, [RESEARCH])).allowed
    refused = await budgets.reserve_within("batch_2", tags, Decimal("0.2"), MONTH, [RESEARCH])
    assert not refused.allowed
    assert refused.refused == RESEARCH
    assert await ledger.settle(_record("batch_1", tags))  # real cost 0.3 USD
    assert await budgets.month_spend(RESEARCH, MONTH) == (Decimal("0.3"), Decimal(0))
    assert not await redis_client.hexists(keys.tag_reservation_owners(), "batch_1")
    spend = await redis_client.hgetall(keys.tag_month_spend(MONTH))
    assert spend == {b"team=research": b"0.3", b"project=apollo": b"0.3"}
    assert (await budgets.reserve_within("batch_2", tags, Decimal("0.2"), MONTH, [RESEARCH])).allowed
    assert not await ledger.settle(_record("batch_1", tags))  # settled once: spend does not grow again
    assert await budgets.month_spend(RESEARCH, MONTH) == (Decimal("0.3"), Decimal("0.2"))
    assert await budgets.release("batch_2")
    assert not await budgets.release("batch_2")
    assert await budgets.month_spend(RESEARCH, MONTH) == (Decimal("0.3"), Decimal(0))


async def test_concurrent_tag_reservations_never_exceed_the_budget(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(4)]
    try:
        budgets = [TagBudgets(client) for client in clients]
        decisions = await asyncio.gather(
            *(
                budgets[i % 4].reserve_within(f"batch_{i}", {"team": "research"}, Decimal("0.15"), MONTH, [RESEARCH])
                for i in range(30)
            )
        )
        assert sum(decision.allowed for decision in decisions) == 6  # 6 x 0.15 = 0.9 <= 1 < 7 x 0.15
        assert await budgets[0].month_spend(RESEARCH, MONTH) == (Decimal(0), Decimal("0.90"))
    finally:
        for client in clients:
            await client.aclose()


async def test_label_cap_holds_per_key_across_processes(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(3)]
    try:
        labellers = [TagLabels(client, cap=5, always=[("team", "budgeted")]) for client in clients]
        values = [f"team{index:03d}" for index in range(40)]
        answers = await asyncio.gather(
            *(labellers[i % 3].labels({"team": value, "project": "p"}) for i, value in enumerate(values))
        )
        own = {answer["team"] for answer in answers} - {"other"}
        assert len(own) == 5
        assert own <= set(values)
        assert all(answer["project"] == "p" for answer in answers)
        # Every process names the same values, now and later; a budgeted value always keeps its name.
        pairs = list(itertools.product(labellers, values))
        again = await asyncio.gather(*(labeller.labels({"team": value}) for labeller, value in pairs))
        assert [answer["team"] for answer in again] == [value if value in own else "other" for _, value in pairs]
        assert await labellers[1].labels({"team": "budgeted", "project": "untagged"}) == {
            "team": "budgeted",
            "project": "untagged",
        }
    finally:
        for client in clients:
            await client.aclose()


async def test_focus_export_of_a_month_on_three_providers_sums_to_the_ledger(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    prices = {
        "deepseek": ModelPrice(
            input_usd_per_mtok=Decimal("0.28"),
            cached_input_usd_per_mtok=Decimal("0.028"),
            output_usd_per_mtok=Decimal("0.42"),
        ),
        "deepinfra": ModelPrice(input_usd_per_mtok=Decimal("0.23"), output_usd_per_mtok=Decimal("0.4")),
        "local": ModelPrice(input_usd_per_mtok=Decimal("0.0999"), output_usd_per_mtok=Decimal("0.1777")),
    }
    discounts = {"deepseek": "0.5", "deepinfra": "0.2", "local": "0"}
    teams = itertools.cycle(["research", "ops", ""])
    for index in range(60):
        provider = ("deepseek", "deepinfra", "local")[index % 3]
        tags = {"team": next(teams) or "untagged"}
        tokens = (1_000 + 7_919 * index, 13 * index if provider == "deepseek" else 0, 17 + 3_001 * index)
        settled_at = JAN + 44_000 * index  # 60 batches over 30 days of January
        record = _record(
            f"batch_{index:03d}",
            tags,
            provider=provider,
            price=prices[provider],
            discount=discounts[provider],
            tokens=tokens,
            settled_at=settled_at,
        )
        await ledger.settle(record)
    await ledger.settle(_record("batch_february", {"team": "ops"}, settled_at=JAN + 31 * 86_400))
    until = JAN + 31 * 86_400
    records = [record async for record in ledger.iter_records(since=JAN, until=until)]
    rows = check_focus_csv("".join(focus_csv(records)))
    assert len(rows) == 3 * len(records) == 180
    assert {row["ProviderName"] for row in rows} == {"deepseek", "deepinfra", "local"}
    [totals] = await ledger.summary(None, since=JAN, until=until)
    assert totals.batches == 60

    def column(name: str) -> Decimal:
        return sum((Decimal(row[name] or "x") for row in rows), Decimal(0))

    assert column("ListCost") == totals.list_cost_usd
    assert column("BilledCost") == column("EffectiveCost") == column("ContractedCost") == totals.batch_cost_usd
    assert column("x_Savings") == totals.savings_usd
    by_kind = {kind: Decimal(0) for kind in ("input", "cached_input", "output")}
    for row in rows:
        by_kind[row["x_TokenKind"] or "x"] += Decimal(row["ConsumedQuantity"] or "x")
    assert by_kind["input"] + by_kind["cached_input"] == totals.input_tokens
    assert (by_kind["cached_input"], by_kind["output"]) == (totals.cached_input_tokens, totals.output_tokens)
    assert column("PricingQuantity") * 10**6 == totals.input_tokens + totals.output_tokens
