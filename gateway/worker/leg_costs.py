"""A settled batch's cost per route leg: each leg priced with its own route (prices, price windows) and provider.

Earlier legs carry their usage and served buckets on the record (gateway/worker/legs.py); the current leg's
usage is the batch's assembled usage less theirs, its buckets are the record's `served`. The batch's figures
are the sums of its legs' (accounting/route_costs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from accounting.charges import Charge
from accounting.cost import Cost
from accounting.price_windows import PriceWindow, multiplier_at
from accounting.prices import ModelPrice
from accounting.route_costs import RouteCost, leg_charges, price_leg, route_cost
from accounting.served import ServedTokens, served_at
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, Leg
from gateway.config.settings import ModelRoute, Settings
from gateway.worker.routes import route_of

__all__ = [
    "PricedLeg",
    "current_usage",
    "legs_of",
    "price_of",
    "priced_leg",
    "served_of",
    "serving_provider",
]


@dataclass(frozen=True)
class PricedLeg:
    route: RouteCost
    cost: Cost
    charges: tuple[Charge, ...]


def price_of(route: ModelRoute | None) -> ModelPrice | None:
    """The route's list price, or None (unpriced) when the config gives no input or output price."""
    if route is None or route.input_usd_per_mtok is None or route.output_usd_per_mtok is None:
        return None
    return ModelPrice(
        input_usd_per_mtok=route.input_usd_per_mtok,
        output_usd_per_mtok=route.output_usd_per_mtok,
        cached_input_usd_per_mtok=route.cached_input_usd_per_mtok,
    )


def priced_leg(
    provider: str,
    model: str,
    usage: UsageTotals,
    price: ModelPrice | None,
    discount: Decimal,
    *,
    served: ServedTokens | None = None,
    list_multiplier: Decimal = Decimal(1),
) -> PricedLeg:
    cost = price_leg(usage, price, discount, served=served, list_multiplier=list_multiplier)
    charges = leg_charges(usage, price, discount, served=served, list_multiplier=list_multiplier)
    return PricedLeg(route_cost(provider, model, usage, cost), cost, charges)


def served_of(
    windows: Sequence[PriceWindow], reported: ServedTokens | None, usage: UsageTotals, now: float
) -> ServedTokens | None:
    """A leg's tokens per price multiplier: the provider's own buckets (served line by line), else all of the
    leg's `usage` at the multiplier of `now`, when it finished (an upstream batch is priced at its completion
    time). None on a route without price windows."""
    if not windows:
        return None
    return reported if reported is not None else served_at(usage, multiplier_at(windows, now))


def _leg_usage(leg: Leg) -> UsageTotals:
    return UsageTotals(
        input_tokens=leg.input_tokens,
        cached_input_tokens=leg.cached_input_tokens,
        output_tokens=leg.output_tokens,
        reasoning_tokens=leg.reasoning_tokens,
        requests_completed=leg.completed,
        requests_failed=leg.failed,
    )


def _minus(total: UsageTotals, part: UsageTotals) -> UsageTotals:
    return UsageTotals(**{name: max(0, getattr(total, name) - getattr(part, name)) for name in total.__struct_fields__})


def current_usage(record: BatchRecord, usage: UsageTotals) -> UsageTotals:
    """The current leg's part of the batch's `usage` (which includes the lines earlier legs carried over)."""
    earlier = UsageTotals()
    for leg in record.legs:
        earlier = earlier + _leg_usage(leg)
    return _minus(usage, earlier)


def legs_of(settings: Settings, record: BatchRecord, usage: UsageTotals) -> list[PricedLeg]:
    """Every leg of a routed batch, in route order, priced: the earlier legs and the current one."""
    model = record.model or ""
    spans = [(leg.route_index, leg.provider, leg.upstream_model, _leg_usage(leg), leg.served) for leg in record.legs]
    current = record.provider or "none"
    model_now = record.upstream_model or model
    spans.append((record.route_index, current, model_now, current_usage(record, usage), record.served))
    return [_priced(settings, record, *span) for span in spans]


def _priced(
    settings: Settings,
    record: BatchRecord,
    index: int,
    provider: str,
    upstream_model: str,
    usage: UsageTotals,
    served: ServedTokens | None,
) -> PricedLeg:
    """One leg at its route's prices and provider's discount; with the route's windows, list at the multiplier
    when the batch was created and paid per served bucket."""
    config = settings.providers.get(provider)
    discount = config.batch_discount if config is not None else Decimal(0)
    route = route_of(settings, record.model or "", index, provider)
    price = price_of(route)
    if route is None or not route.price_windows or served is None:
        return priced_leg(provider, upstream_model, usage, price, discount)
    at = multiplier_at(route.price_windows, record.created_at)
    return priced_leg(provider, upstream_model, usage, price, discount, served=served, list_multiplier=at)


def serving_provider(record: BatchRecord, routes: tuple[RouteCost, ...]) -> str:
    """The ledger record's `provider`: the route that completed the most requests (ties: the earlier route);
    the batch's current provider when it ran on no route."""
    if not routes:
        return record.provider or "none"
    return max(enumerate(routes), key=lambda item: (item[1].requests_completed, -item[0]))[1].provider
