"""A batch's cost per route (ARCHITECTURE.md §2.2 `routes`): what each route it ran on served and cost.

A batch that fell back from one route to the next ran as legs (gateway/worker/legs.py); each leg is priced
with its own route's prices, price windows and provider's discount through `price_leg` (and split by token
kind through `leg_charges`), and the batch's figures are the sums over its legs. A batch of one route has one
entry, equal to the batch's own figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec

from accounting.charges import Charge, charges_of, served_charges
from accounting.cost import ZERO, Cost, price_served, price_usage
from accounting.prices import ModelPrice
from accounting.served import ServedTokens
from accounting.usage import UsageTotals

__all__ = ["RouteCost", "leg_charges", "price_leg", "route_cost", "sum_costs"]

_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])  # as in accounting.cost: exact or an error


class RouteCost(msgspec.Struct, frozen=True, kw_only=True):
    """One route's part of a settled batch: `model` is the upstream model it ran under there."""

    provider: str
    model: str
    requests: int = 0  # requests with a result from this route
    requests_completed: int = 0
    requests_failed: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    list_cost_usd: Decimal = ZERO
    batch_cost_usd: Decimal = ZERO
    savings_usd: Decimal = ZERO
    priced: bool = True


def price_leg(
    usage: UsageTotals,
    price: ModelPrice | None,
    batch_discount: Decimal,
    *,
    served: ServedTokens | None = None,
    list_multiplier: Decimal = Decimal(1),
) -> Cost:
    """What one route leg cost at its route's `price` and its provider's `batch_discount`: the one place a leg
    is priced. On a route with price windows `served` holds the leg's tokens per multiplier when served and
    `list_multiplier` is the route's multiplier when the batch was created (`price_served`); without windows
    (`served` None) it is `usage` at multiplier 1, which is the same formula."""
    if served is None:
        return price_usage(usage, price, batch_discount)
    return price_served(served, price, batch_discount, list_multiplier=list_multiplier)


def leg_charges(
    usage: UsageTotals,
    price: ModelPrice | None,
    batch_discount: Decimal,
    *,
    served: ServedTokens | None = None,
    list_multiplier: Decimal = Decimal(1),
) -> tuple[Charge, ...]:
    """`price_leg` split by token kind (accounting.charges): the kinds sum to the leg's cost exactly."""
    if served is None:
        return charges_of(usage, price, batch_discount)
    return served_charges(served, price, batch_discount, list_multiplier=list_multiplier)


def route_cost(provider: str, model: str, usage: UsageTotals, cost: Cost) -> RouteCost:
    return RouteCost(
        provider=provider,
        model=model,
        requests=usage.requests_completed + usage.requests_failed,
        requests_completed=usage.requests_completed,
        requests_failed=usage.requests_failed,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        list_cost_usd=cost.list_usd,
        batch_cost_usd=cost.batch_usd,
        savings_usd=cost.savings_usd,
        priced=cost.priced,
    )


def sum_costs(costs: Sequence[Cost]) -> Cost:
    """The batch's cost from its legs' (exact Decimal sums; unpriced if any leg is)."""
    if len(costs) == 1:
        return costs[0]
    return Cost(
        list_usd=_sum(cost.list_usd for cost in costs),
        batch_usd=_sum(cost.batch_usd for cost in costs),
        savings_usd=_sum(cost.savings_usd for cost in costs),
        priced=all(cost.priced for cost in costs),
    )


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for amount in amounts:
        total = _EXACT.add(total, amount)
    return ZERO if total.is_zero() else total
