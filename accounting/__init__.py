"""accounting: usage, cost, the exactly-once settlement ledger, budgets and Prometheus metrics.

The bottom layer: it imports neither `providers` nor `gateway`.
"""

from accounting.budget import BudgetDecision, check_budget, estimate_max_cost
from accounting.cost import Cost, price_usage
from accounting.ledger import Ledger
from accounting.metrics import Metrics, StatusGaugeCollector, StatusSnapshot
from accounting.prices import DEFAULT_MODEL_PRICES, DefaultPrice, ModelPrice
from accounting.records import LedgerPage, LedgerRecord, SummaryRow, month_of, to_csv
from accounting.summary import GroupBy
from accounting.usage import BatchUsage, UsageAccumulator, UsageTotals

__all__ = [
    "DEFAULT_MODEL_PRICES",
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
