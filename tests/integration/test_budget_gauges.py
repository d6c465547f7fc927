"""The budget gauges the alert rules read: refreshed from the ledger's month spend, tenant and tag budgets."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.charges import charges_of
from accounting.cost import price_usage
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord
from accounting.usage import UsageTotals
from gateway.config.settings import AccountingSettings, Settings, TagBudgetSettings
from gateway.ops.gauges import update_budget_gauges
from gateway.services import open_services


async def test_gauges_show_budget_and_settled_spend_of_this_month(settings: Settings) -> None:
    tenants = [msgspec.structs.replace(settings.tenants[0], monthly_budget_usd=Decimal("10")), *settings.tenants[1:]]
    accounting = AccountingSettings(
        tag_keys=["team"],
        tag_budgets=[
            TagBudgetSettings(key="team", value="research", monthly_usd=Decimal("4")),
            TagBudgetSettings(key="team", value="idle", monthly_usd=Decimal("1")),
        ],
    )
    services = open_services(msgspec.structs.replace(settings, tenants=tenants, accounting=accounting))
    try:
        price = ModelPrice(input_usd_per_mtok=Decimal(1), output_usd_per_mtok=Decimal(2))
        usage = UsageTotals(input_tokens=3_000_000)  # 3 USD list, 1.5 USD after a 0.5 discount
        for batch_id, settled_at in (("batch_now", int(time.time())), ("batch_last_year", 1_700_000_000)):
            record = LedgerRecord.build(
                batch_id=batch_id,
                tenant=tenants[0].name,
                provider="deepseek",
                model="m",
                endpoint="/v1/chat/completions",
                status="completed",
                usage=usage,
                cost=price_usage(usage, price, Decimal("0.5")),
                settled_at=settled_at,
                tags={"team": "research"},
                charges=charges_of(usage, price, Decimal("0.5")),
            )
            assert await services.ledger.settle(record)
        await update_budget_gauges(services)
        text = generate_latest(services.registry).decode()
    finally:
        await services.aclose()
    gauges = {
        (sample.name, tuple(sorted(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "budget" in sample.name or "month_spend" in sample.name
    }
    assert gauges == {
        ("batchgate_tenant_budget_usd", (tenants[0].name,)): 10.0,
        ("batchgate_tenant_month_spend_usd", (tenants[0].name,)): 1.5,  # last year's batch is not this month's
        ("batchgate_tag_budget_usd", ("research", "team")): 4.0,
        ("batchgate_tag_month_spend_usd", ("research", "team")): 1.5,
        ("batchgate_tag_budget_usd", ("idle", "team")): 1.0,
        ("batchgate_tag_month_spend_usd", ("idle", "team")): 0.0,
    }
