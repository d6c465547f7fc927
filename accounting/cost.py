"""What a batch's tokens cost (ARCHITECTURE.md §2.4), exactly, in Decimal.

    list       = ((input - cached) * input_price + cached * cached_input_price + output * output_price) / 10**6
    batch_cost = list * (1 - batch_discount)
    savings    = list - batch_cost

With time-of-day prices the tokens come in served buckets (`accounting/served.py`), one per multiplier in
effect when they were served, and `price_served` prices them:

    list       = list(all tokens) * list_multiplier          (the multiplier when the batch was created)
    batch_cost = sum over buckets of list(bucket tokens) * bucket multiplier * (1 - batch_discount)
    savings    = list - batch_cost                           (negative when served at a dearer hour)

Without windows every multiplier is 1 and this is `price_usage`.

Arithmetic runs in a private context with a wide precision that traps `Inexact`: a result is either
exact or an error, whatever the caller's thread-local decimal context says. Nothing is rounded.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec

from accounting.prices import ModelPrice
from accounting.served import ServedTokens, TokenCounts
from accounting.usage import UsageTotals

__all__ = ["ZERO", "Cost", "list_cost", "price_served", "price_usage"]

ZERO = Decimal(0)
# 80 digits hold any realistic token count (≤ 10¹⁵) times any price with ≤ 30 decimals, exactly.
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])


class Cost(msgspec.Struct, frozen=True, kw_only=True):
    """One batch's cost in USD. `priced` is False when the model has no list price (then all are zero)."""

    list_usd: Decimal
    batch_usd: Decimal
    savings_usd: Decimal
    priced: bool


def _tidy(value: Decimal) -> Decimal:
    # `0E-12` and `0` are the same amount; store the plain one so records and CSV read "0".
    return ZERO if value.is_zero() else value


def list_cost(usage: UsageTotals | TokenCounts, price: ModelPrice) -> Decimal:
    """The real-time (list) price of `usage`, unrounded."""
    uncached = usage.input_tokens - usage.cached_input_tokens
    parts = (
        _EXACT.multiply(Decimal(uncached), price.input_usd_per_mtok),
        _EXACT.multiply(Decimal(usage.cached_input_tokens), price.cached_input_price),
        _EXACT.multiply(Decimal(usage.output_tokens), price.output_usd_per_mtok),
    )
    total = _EXACT.add(_EXACT.add(parts[0], parts[1]), parts[2])
    return _tidy(_EXACT.scaleb(total, Decimal(-6)))


def price_usage(usage: UsageTotals, price: ModelPrice | None, batch_discount: Decimal) -> Cost:
    """Cost of `usage` at `price` with the provider's `batch_discount` (a fraction, 0 to 1)."""
    if price is None:
        return Cost(list_usd=ZERO, batch_usd=ZERO, savings_usd=ZERO, priced=False)
    list_usd = list_cost(usage, price)
    batch_usd = _tidy(_EXACT.multiply(list_usd, _EXACT.subtract(Decimal(1), batch_discount)))
    savings_usd = _tidy(_EXACT.subtract(list_usd, batch_usd))
    return Cost(list_usd=list_usd, batch_usd=batch_usd, savings_usd=savings_usd, priced=True)


def price_served(
    served: ServedTokens, price: ModelPrice | None, batch_discount: Decimal, *, list_multiplier: Decimal
) -> Cost:
    """Cost of `served` at `price`: list at `list_multiplier`, each bucket paid at its own multiplier."""
    if price is None:
        return Cost(list_usd=ZERO, batch_usd=ZERO, savings_usd=ZERO, priced=False)
    list_usd = _tidy(_EXACT.multiply(list_cost(served.total(), price), list_multiplier))
    paid = ZERO
    for multiplier, counts in served.items():
        paid = _EXACT.add(paid, _EXACT.multiply(list_cost(counts, price), multiplier))
    batch_usd = _tidy(_EXACT.multiply(paid, _EXACT.subtract(Decimal(1), batch_discount)))
    savings_usd = _tidy(_EXACT.subtract(list_usd, batch_usd))
    return Cost(list_usd=list_usd, batch_usd=batch_usd, savings_usd=savings_usd, priced=True)
