"""A batch's cost split by token kind: what the FOCUS export shows as one row per batch × token kind.

The kinds are disjoint and together price every token: `input` is the uncached prompt tokens, `cached_input`
the cached ones, `output` every completion token (reasoning tokens are part of it, priced as output). The
split is exact: each kind's list cost is `tokens × unit price / 10⁶` unrounded, so the kinds sum to the
batch's `list_cost` (and, times `1 − discount`, to its batch cost) to the last digit.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Literal

import msgspec

from accounting.cost import ZERO
from accounting.prices import ModelPrice
from accounting.served import ServedTokens, TokenCounts
from accounting.usage import UsageTotals

__all__ = ["CHARGE_KINDS", "Charge", "ChargeKind", "charges_of", "served_charges"]

ChargeKind = Literal["input", "cached_input", "output"]
CHARGE_KINDS: tuple[ChargeKind, ...] = ("input", "cached_input", "output")
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])  # as in accounting.cost: exact or an error


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """One token kind of one batch. `list_usd_per_mtok` is None when the model has no list price."""

    kind: ChargeKind
    tokens: int
    list_usd_per_mtok: Decimal | None
    batch_discount: Decimal
    list_usd: Decimal
    batch_usd: Decimal


def _tidy(value: Decimal) -> Decimal:
    return ZERO if value.is_zero() else value


def _list_usd(tokens: int, usd_per_mtok: Decimal) -> Decimal:
    return _tidy(_EXACT.scaleb(_EXACT.multiply(Decimal(tokens), usd_per_mtok), Decimal(-6)))


def _after_discount(list_usd: Decimal, batch_discount: Decimal) -> Decimal:
    return _tidy(_EXACT.multiply(list_usd, _EXACT.subtract(Decimal(1), batch_discount)))


def _unit_prices(price: ModelPrice) -> dict[ChargeKind, Decimal]:
    return {
        "input": price.input_usd_per_mtok,
        "cached_input": price.cached_input_price,
        "output": price.output_usd_per_mtok,
    }


def charges_of(usage: UsageTotals, price: ModelPrice | None, batch_discount: Decimal) -> tuple[Charge, ...]:
    """The batch's charges, one per token kind, in `CHARGE_KINDS` order (zero-token kinds included)."""
    tokens = _kind_tokens(usage)
    units = _unit_prices(price) if price is not None else None
    charges = []
    for kind in CHARGE_KINDS:
        unit = units[kind] if units is not None else None
        list_usd = ZERO if unit is None else _list_usd(tokens[kind], unit)
        batch_usd = ZERO if unit is None else _after_discount(list_usd, batch_discount)
        charges.append(
            Charge(
                kind=kind,
                tokens=tokens[kind],
                list_usd_per_mtok=unit,
                batch_discount=batch_discount,
                list_usd=list_usd,
                batch_usd=batch_usd,
            )
        )
    return tuple(charges)


def _kind_tokens(counts: UsageTotals | TokenCounts) -> dict[ChargeKind, int]:
    return {
        "input": counts.input_tokens - counts.cached_input_tokens,
        "cached_input": counts.cached_input_tokens,
        "output": counts.output_tokens,
    }


def served_charges(
    served: ServedTokens, price: ModelPrice | None, batch_discount: Decimal, *, list_multiplier: Decimal
) -> tuple[Charge, ...]:
    """`charges_of` with time-of-day prices (`accounting.cost.price_served`): each kind's list cost at the
    creation-time multiplier, its batch cost summed over the served buckets at their own multipliers; the kinds
    still sum to the batch's list and batch cost exactly."""
    if price is None:
        return charges_of(UsageTotals(**msgspec.structs.asdict(served.total())), None, batch_discount)
    units = _unit_prices(price)
    totals = _kind_tokens(served.total())
    charges = []
    for kind in CHARGE_KINDS:
        list_unit = _EXACT.multiply(units[kind], list_multiplier)
        paid = Decimal(0)
        for multiplier, counts in served.items():
            paid = _EXACT.add(paid, _EXACT.multiply(_list_usd(_kind_tokens(counts)[kind], units[kind]), multiplier))
        charges.append(
            Charge(
                kind=kind,
                tokens=totals[kind],
                list_usd_per_mtok=list_unit,
                batch_discount=batch_discount,
                list_usd=_list_usd(totals[kind], list_unit),
                batch_usd=_after_discount(_tidy(paid), batch_discount),
            )
        )
    return tuple(charges)
