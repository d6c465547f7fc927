"""Which of a model's routes a batch runs on: the first that serves its endpoint, then the next ones in order.

A model's routes are its `[[models]]` entries in config order (`Settings.routes_for`). A route whose provider
does not serve the batch's endpoint is skipped. The route a leg ran on is named by its index into that list.
"""

from __future__ import annotations

from gateway.batches import BatchRecord
from gateway.config.settings import ModelRoute, Settings

__all__ = ["current_route", "first_route", "next_route", "route_of"]


def _serving_from(settings: Settings, model: str, endpoint: str, start: int) -> tuple[int, ModelRoute] | None:
    routes = settings.routes_for(model)
    for index in range(start, len(routes)):
        provider = settings.providers.get(routes[index].provider)
        if provider is not None and provider.serves_endpoint(endpoint):
            return index, routes[index]
    return None


def first_route(settings: Settings, model: str, endpoint: str) -> tuple[int, ModelRoute] | None:
    return _serving_from(settings, model, endpoint, 0)


def next_route(settings: Settings, record: BatchRecord) -> tuple[int, ModelRoute] | None:
    """The route after the batch's current one that serves its endpoint, or None (the last route)."""
    return _serving_from(settings, record.model or "", record.endpoint, record.route_index + 1)


def route_of(settings: Settings, model: str, index: int, provider: str) -> ModelRoute | None:
    """The route a leg ran on: by its index, checked against its provider (the config may have changed since;
    then the model's route through that provider, else its first route, as a batch of one route is priced)."""
    routes = settings.routes_for(model)
    if 0 <= index < len(routes) and routes[index].provider == provider:
        return routes[index]
    return next((route for route in routes if route.provider == provider), settings.route_for(model))


def current_route(settings: Settings, record: BatchRecord) -> ModelRoute | None:
    """The route the batch's current leg runs on."""
    return route_of(settings, record.model or "", record.route_index, record.provider or "")
