"""Listing, paging, scoping, summaries and CSV export of the ledger, against a real Redis."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from accounting.ledger import Ledger
from accounting.records import CSV_FIELDS, to_csv
from accounting.summary import GroupBy
from tests.integration.accounting.support import make_record

T0 = 1_767_225_600


@pytest.fixture
async def ledger(redis_client: aioredis.Redis) -> Ledger:
    ledger = Ledger(redis_client)
    spread = [
        ("research", "deepseek", "deepseek-chat"),
        ("research", "deepinfra", "Qwen/Qwen2.5-72B-Instruct"),
        ("ops", "deepseek", "deepseek-chat"),
        ("ops", "local", "llama"),
    ]
    for index in range(12):
        tenant, provider, model = spread[index % 4]
        list_usd = str(Decimal(index + 1) / 1000 + Decimal("0.0001"))  # sums to 0.078 + 0.0012
        record = make_record(
            f"batch_{index:02d}",
            tenant=tenant,
            provider=provider,
            model=model,
            settled_at=T0 + 10 * index,
            list_usd=list_usd,
            discount="0.2",
            tokens=(100 + index, index, 10),
        )
        assert await ledger.settle(record)
    return ledger


async def _all_pages(ledger: Ledger, tenant: str | None, limit: int, **window: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = await ledger.list(tenant, after=after, limit=limit, **window)
        ids += [record.batch_id for record in page.data]
        if not page.has_more:
            return ids
        assert page.last_id == page.data[-1].batch_id
        after = page.last_id


async def test_admin_pages_through_everything_newest_first(ledger: Ledger) -> None:
    assert await _all_pages(ledger, None, limit=5) == [f"batch_{index:02d}" for index in reversed(range(12))]


async def test_tenant_sees_only_its_records(ledger: Ledger) -> None:
    assert await _all_pages(ledger, "ops", limit=2) == [
        "batch_11",
        "batch_10",
        "batch_07",
        "batch_06",
        "batch_03",
        "batch_02",
    ]
    assert await ledger.get("batch_02", "research") is None
    assert await ledger.get("batch_02", "ops") is not None
    assert (await ledger.list("ops", after="batch_01")).data == []  # another tenant's cursor reveals nothing


async def test_since_inclusive_until_exclusive(ledger: Ledger) -> None:
    ids = await _all_pages(ledger, None, limit=3, since=T0 + 20, until=T0 + 60)
    assert ids == ["batch_05", "batch_04", "batch_03", "batch_02"]
    page = await ledger.list(None, after="batch_04", since=T0 + 20, until=T0 + 60)
    assert [record.batch_id for record in page.data] == ["batch_03", "batch_02"]
    assert (page.first_id, page.has_more) == ("batch_03", False)


async def test_empty_page_shape(ledger: Ledger) -> None:
    page = await ledger.list("nobody")
    assert (page.data, page.first_id, page.last_id, page.has_more, page.object) == ([], None, None, False, "list")


@pytest.mark.parametrize(
    "group_by",
    [
        [],
        ["tenant"],
        ["provider"],
        ["model"],
        ["tenant", "provider"],
        ["provider", "model"],
        ["tenant", "provider", "model"],
    ],
)
async def test_summary_groups_sum_exactly(ledger: Ledger, group_by: list[GroupBy]) -> None:
    records = [record async for record in ledger.iter_records()]
    rows = await ledger.summary(None, group_by)
    for row in rows:
        members = [r for r in records if all(getattr(r, key) == getattr(row, key) for key in group_by)]
        assert row.batches == len(members) > 0
        assert row.input_tokens == sum(r.input_tokens for r in members)
        assert row.batch_cost_usd == sum((r.batch_cost_usd for r in members), Decimal(0))
        assert row.savings_usd == sum((r.savings_usd for r in members), Decimal(0))
    assert sum(row.batches for row in rows) == 12
    assert sum((row.list_cost_usd for row in rows), Decimal(0)) == Decimal("0.078") + Decimal("0.0012")


async def test_summary_is_tenant_scoped_and_windowed(ledger: Ledger) -> None:
    [row] = await ledger.summary("research", ["tenant"], since=T0, until=T0 + 40)
    assert (row.tenant, row.batches, row.list_cost_usd) == ("research", 2, Decimal("0.0011") + Decimal("0.0021"))
    assert await ledger.day_totals("2026-01-01", ["tenant"]) == await ledger.summary(None, ["tenant"])


async def test_csv_round_trip(ledger: Ledger) -> None:
    records = [record async for record in ledger.iter_records("research")]
    text = "".join(to_csv(records))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_FIELDS  # pinned to the letter in tests/unit/accounting/test_records.py
    assert [row["batch_id"] for row in rows] == [record.batch_id for record in records]
    for row, record in zip(rows, records, strict=True):
        for field in ("list_cost_usd", "batch_cost_usd", "savings_usd"):
            assert Decimal(row[field]) == getattr(record, field)
            assert "E" not in row[field]
        assert int(row["settled_at"]) == record.settled_at
        assert row["priced"] == "true"
        assert row["estimated_max_cost_usd"] == ""
