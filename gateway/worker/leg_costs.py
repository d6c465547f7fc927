"""A settled batch's cost per route leg: each leg's usage priced with its own route and provider.

Earlier legs carry their usage on the record (gateway/worker/legs.py); the current leg's is the batch's
assembled usage less theirs. The batch's figures are the sums of its legs' (accounting/route_costs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounting.charges import Charge, charges_of
from accounting.cost import Cost
from accounting.prices import ModelPrice
from accounting.route_costs import RouteCost, price_leg, route_cost
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, Leg
from gateway.config.settings import ModelRoute, Settings
from gateway.worker.routes import route_of

__all__ = ["PricedLeg", "legs_of", "price_of", "priced_leg", "serving_provider"]


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


def priced_leg(provider: str, model: str, usage: UsageTotals, price: ModelPrice | None, discount: Decimal) -> PricedLeg:
    cost = price_leg(usage, price, discount)
    return PricedLeg(route_cost(provider, model, usage, cost), cost, charges_of(usage, price, discount))


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


def legs_of(settings: Settings, record: BatchRecord, usage: UsageTotals) -> list[PricedLeg]:
    """Every leg of a routed batch, in route order, priced: the earlier legs and the current one."""
    model = record.model or ""
    spans = [(leg.route_index, leg.provider, leg.upstream_model, _leg_usage(leg)) for leg in record.legs]
    earlier = UsageTotals()
    for span in spans:
        earlier = earlier + span[3]
    current = record.provider or "none"
    spans.append((record.route_index, current, record.upstream_model or model, _minus(usage, earlier)))
    priced = []
    for index, provider, upstream_model, leg_usage in spans:
        config = settings.providers.get(provider)
        discount = config.batch_discount if config is not None else Decimal(0)
        price = price_of(route_of(settings, model, index, provider))
        priced.append(priced_leg(provider, upstream_model, leg_usage, price, discount))
    return priced


def serving_provider(record: BatchRecord, routes: tuple[RouteCost, ...]) -> str:
    """The ledger record's `provider`: the route that completed the most requests (ties: the earlier route);
    the batch's current provider when it ran on no route."""
    if not routes:
        return record.provider or "none"
    return max(enumerate(routes), key=lambda item: (item[1].requests_completed, -item[0]))[1].provider
