"""Monthly budgets: an upper estimate per batch, held against the budget while the batch is in flight.

The estimate is deliberately an upper bound of what the batch can cost: every prompt token at the
uncached input price (caching only lowers cost), every request producing its full `max_tokens` of output,
after the provider's batch discount, at the route's dearest price window. A batch is admitted only if

    settled spend this month + other in-flight estimates + this estimate ≤ monthly budget,

decided and reserved in one Lua script, so two concurrent batches cannot both squeeze under the budget.
Settling a batch replaces its reservation by its real cost in the same script as the ledger write.
Unpriced models estimate to zero: they cannot be held against a USD budget (and are flagged by metrics).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from accounting.cost import price_served
from accounting.ledger import Ledger
from accounting.prices import ModelPrice
from accounting.served import served_at
from accounting.usage import UsageTotals

__all__ = ["BudgetDecision", "check_budget", "estimate_max_cost"]


class BudgetDecision(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the batch was admitted; the month's spend as seen by the decision (reserved excludes this batch)."""

    allowed: bool
    budget_usd: Decimal | None
    settled_usd: Decimal
    reserved_usd: Decimal
    estimate_usd: Decimal

    @property
    def code(self) -> str | None:
        """The error code for a refusal (`budget_exceeded`), None when admitted."""
        return None if self.allowed else "budget_exceeded"


def estimate_max_cost(
    estimated_input_tokens: int,
    max_output_tokens: int,
    price: ModelPrice | None,
    batch_discount: Decimal,
    *,
    peak_multiplier: Decimal = Decimal(1),
) -> Decimal:
    """Upper estimate of a batch's cost in USD (see the module docstring); exact, unrounded. On a route with
    price windows `peak_multiplier` is its dearest one (`highest_multiplier`): every line may be served then."""
    usage = UsageTotals(input_tokens=estimated_input_tokens, output_tokens=max_output_tokens)
    served = served_at(usage, peak_multiplier)
    return price_served(served, price, batch_discount, list_multiplier=peak_multiplier).batch_usd


async def check_budget(
    ledger: Ledger,
    *,
    tenant: str,
    batch_id: str,
    estimate_usd: Decimal,
    budget_usd: Decimal | None,
    month: str,
) -> BudgetDecision:
    """Admit the batch and reserve its estimate, or refuse it with `budget_exceeded`; atomic in Redis.

    With no budget the estimate is still reserved, so month spend stays visible to operators.
    """
    if budget_usd is None:
        settled, reserved = await ledger.month_spend(tenant, month)
        await ledger.reserve(tenant, batch_id, estimate_usd, month)
        return BudgetDecision(
            allowed=True, budget_usd=None, settled_usd=settled, reserved_usd=reserved, estimate_usd=estimate_usd
        )
    allowed, settled, reserved = await ledger.reserve_within(tenant, batch_id, estimate_usd, month, budget_usd)
    return BudgetDecision(
        allowed=allowed, budget_usd=budget_usd, settled_usd=settled, reserved_usd=reserved, estimate_usd=estimate_usd
    )
