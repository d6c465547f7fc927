"""Settling batches from real result lines into a real Redis: exact money, exactly once, durable."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal, localcontext

import pytest
import redis.asyncio as aioredis

from accounting.cost import price_usage
from accounting.ledger import Ledger
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord
from accounting.usage import UsageAccumulator
from tests.integration.accounting.support import make_record
from tests.support.redis_server import RedisServer
from tests.unit.accounting.lines import deepseek_line, embedding_line, error_line, expired_line, openai_line

DEEPSEEK = ModelPrice(
    input_usd_per_mtok=Decimal("0.28"), cached_input_usd_per_mtok=Decimal("0.028"), output_usd_per_mtok=Decimal("0.42")
)
QWEN = ModelPrice(input_usd_per_mtok=Decimal("0.12"), output_usd_per_mtok=Decimal("0.39"))
BGE = ModelPrice(input_usd_per_mtok=Decimal("0.01"), output_usd_per_mtok=Decimal("0"))
DAY = 1_767_225_600


def _settled(batch_id: str, lines: list[bytes], price: ModelPrice | None, discount: str, **where: str) -> LedgerRecord:
    accumulator = UsageAccumulator()
    accumulator.add_many(lines)
    usage = accumulator.totals()
    cost = price_usage(usage, price, Decimal(discount))
    return LedgerRecord.build(
        batch_id=batch_id,
        tenant=where.get("tenant", "research"),
        provider=where.get("provider", "deepseek"),
        model=where.get("model", "deepseek-chat"),
        endpoint=where.get("endpoint", "/v1/chat/completions"),
        status="completed",
        usage=usage,
        cost=cost,
        settled_at=DAY + 60,
    )


CASES = {
    # hit 300 + miss 700 at 0.028/0.28, 200 out at 0.42: (196 + 8.4 + 84) / 10**6, half off
    "deepseek-cached": (
        [deepseek_line(300, 700, 200), error_line(500)],
        DEEPSEEK,
        "0.5",
        ("0.0002884", "0.0001442", "0.0001442"),
    ),
    # no cache: 2000 x 0.28 + 100 x 0.42 = 560 + 42
    "deepseek-uncached": ([openai_line(2000, 100)], DEEPSEEK, "0.5", ("0.000602", "0.000301", "0.000301")),
    # DeepInfra, 20% off, cached tokens billed at the input price (no cached price)
    "deepinfra": ([openai_line(1000, 500, cached=400)], QWEN, "0.2", ("0.000315", "0.000252", "0.000063")),
    "native": ([openai_line(10, 10)], QWEN, "0", ("0.0000051", "0.0000051", "0")),
    "embeddings": ([embedding_line(333), embedding_line(1)], BGE, "0.2", ("0.00000334", "0.000002672", "6.68E-7")),
    "all-failed": ([error_line(400), expired_line()], DEEPSEEK, "0.5", ("0", "0", "0")),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_settled_money_is_exact(redis_client: aioredis.Redis, case: str) -> None:
    lines, price, discount, expected = CASES[case]
    ledger = Ledger(redis_client)
    assert await ledger.settle(_settled("batch_x", lines, price, discount))
    stored = await ledger.get("batch_x")
    assert stored is not None
    assert (stored.list_cost_usd, stored.batch_cost_usd, stored.savings_usd) == tuple(map(Decimal, expected))
    [row] = await ledger.summary(None, ["tenant"])
    assert row.batch_cost_usd == Decimal(expected[1])
    assert await ledger.month_spend("research", "2026-01") == (Decimal(expected[1]), Decimal(0))


async def test_unpriced_model_counts_tokens_and_is_flagged(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    record = _settled("batch_u", [openai_line(50, 5)], None, "0.5", model="mystery")
    assert await ledger.settle(record)
    stored = await ledger.get("batch_u")
    assert stored is not None
    assert (stored.priced, stored.input_tokens, stored.output_tokens) == (False, 50, 5)
    assert stored.batch_cost_usd == stored.list_cost_usd == 0
    [row] = await ledger.day_totals("2026-01-01", ["model"])
    assert (row.model, row.unpriced_batches, row.input_tokens) == ("mystery", 1, 50)


async def test_concurrent_settlement_of_one_batch_writes_once(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(8)]
    try:
        ledgers = [Ledger(client) for client in clients]
        record = make_record("batch_once", settled_at=DAY)
        outcomes = await asyncio.gather(*(ledgers[i % 8].settle(record) for i in range(64)))
        assert outcomes.count(True) == 1
        [row] = await ledgers[0].summary(None, ["tenant"])
        assert (row.batches, row.input_tokens, row.batch_cost_usd) == (1, 1000, Decimal("0.0001274"))
        [day] = await ledgers[0].day_totals("2026-01-01", ["tenant"])
        assert (day.batches, day.batch_cost_usd) == (1, Decimal("0.0001274"))
        assert (await ledgers[0].month_spend("research", "2026-01"))[0] == Decimal("0.0001274")
        assert (await ledgers[0].list()).data == [record]
    finally:
        for client in clients:
            await client.aclose()


async def test_second_settlement_changes_nothing(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    assert await ledger.settle(make_record("batch_a"))
    before = {key: await redis_client.dump(key) for key in await redis_client.keys("*")}
    assert not await ledger.settle(make_record("batch_a", list_usd="9", tokens=(1, 1, 1)))
    after = {key: await redis_client.dump(key) for key in await redis_client.keys("*")}
    assert before == after


async def test_ledger_survives_a_redis_crash(redis_server: RedisServer, redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await Ledger(client).settle(make_record("batch_durable"))
    finally:
        await client.aclose()
    redis_server.restart()
    client = aioredis.Redis.from_url(redis_url)
    try:
        ledger = Ledger(client)
        assert (await ledger.get("batch_durable")) == make_record("batch_durable")
        assert not await ledger.settle(make_record("batch_durable"))
        [row] = await ledger.day_totals("2026-01-01")
        assert (row.batches, row.list_cost_usd) == (1, Decimal("0.0002548"))
    finally:
        await client.aclose()


async def test_day_totals_equal_the_exact_sum_of_records(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    amounts = ["0.000000001", "123456789.987654321", "0.1", "0.2", "99999999999.999999999999", "1E-20"]
    for index, amount in enumerate(amounts):
        await ledger.settle(make_record(f"batch_{index}", list_usd=amount, discount="0.37", settled_at=DAY + index))
    with localcontext() as wide:
        wide.prec = 100
        expected = sum((Decimal(amount) for amount in amounts), Decimal(0))
    [total] = await ledger.day_totals("2026-01-01", [])
    [summary] = await ledger.summary(None, [])
    # 32 significant digits: Python's default 28-digit context would have rounded this sum.
    assert total.list_cost_usd == summary.list_cost_usd == expected == Decimal("100123456790.28765432199900000001")
    assert total.batch_cost_usd == summary.batch_cost_usd
    with localcontext() as wide:
        wide.prec = 100
        assert total.batch_cost_usd + total.savings_usd == total.list_cost_usd


async def test_lua_totals_match_decimal_sums_for_random_amounts(redis_client: aioredis.Redis) -> None:
    rng = random.Random(20260101)
    ledger = Ledger(redis_client)
    amounts = [Decimal(rng.randrange(10 ** rng.randrange(1, 25))).scaleb(-rng.randrange(0, 30)) for _ in range(60)]
    for index, amount in enumerate(amounts):
        await ledger.settle(make_record(f"batch_{index}", list_usd=str(amount), discount="0", settled_at=DAY + index))
    with localcontext() as wide:
        wide.prec = 100
        expected = sum(amounts, Decimal(0))
    [total] = await ledger.day_totals("2026-01-01", [])
    assert total.list_cost_usd == total.batch_cost_usd == expected
    assert await ledger.month_spend("research", "2026-01") == (expected, Decimal(0))
