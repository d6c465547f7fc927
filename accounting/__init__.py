"""accounting: usage, cost, the exactly-once settlement ledger, budgets and Prometheus metrics.

The bottom layer: it imports neither `providers` nor `gateway`.

The names below are imported on first use (PEP 562), so importing one light module such as
`accounting.prices` (the config loader does) does not also load redis-py and prometheus_client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounting.budget import BudgetDecision, check_budget, estimate_max_cost
    from accounting.cost import Cost, price_usage
    from accounting.ledger import Ledger
    from accounting.metrics import Metrics, StatusGaugeCollector, StatusSnapshot
    from accounting.prices import DEFAULT_MODEL_PRICES, DefaultPrice, ModelPrice
    from accounting.records import AccountingRecord, LedgerPage, LedgerRecord, SummaryRow, month_of, to_csv
    from accounting.summary import GroupBy
    from accounting.usage import BatchUsage, UsageAccumulator, UsageTotals

__all__ = [
    "DEFAULT_MODEL_PRICES",
    "AccountingRecord",
    "BatchUsage",
    "BudgetDecision",
    "Cost",
    "DefaultPrice",
    "GroupBy",
    "Ledger",
    "LedgerPage",
    "LedgerRecord",
    "Metrics",
    "ModelPrice",
    "StatusGaugeCollector",
    "StatusSnapshot",
    "SummaryRow",
    "UsageAccumulator",
    "UsageTotals",
    "check_budget",
    "estimate_max_cost",
    "month_of",
    "price_usage",
    "to_csv",
]

_HOMES = {
    "BudgetDecision": "budget",
    "check_budget": "budget",
    "estimate_max_cost": "budget",
    "Cost": "cost",
    "price_usage": "cost",
    "Ledger": "ledger",
    "Metrics": "metrics",
    "StatusGaugeCollector": "metrics",
    "StatusSnapshot": "metrics",
    "DEFAULT_MODEL_PRICES": "prices",
    "DefaultPrice": "prices",
    "ModelPrice": "prices",
    "AccountingRecord": "records",
    "LedgerPage": "records",
    "LedgerRecord": "records",
    "SummaryRow": "records",
    "month_of": "records",
    "to_csv": "records",
    "GroupBy": "summary",
    "BatchUsage": "usage",
    "UsageAccumulator": "usage",
    "UsageTotals": "usage",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'accounting' has no attribute {name!r}")
    return getattr(import_module(f"accounting.{home}"), name)
