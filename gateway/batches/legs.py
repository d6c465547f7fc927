"""A batch's earlier legs: the routes it ran on before the one it runs on now (see gateway/worker/legs.py).

A batch runs on its model's first route; the lines a route could not finish move on to the next route as a
new leg. The record keeps each finished leg here: where it ran, the lines it kept (stored under
`results_key`) and their usage, so assembly and settlement need nothing from that upstream any more.
"""

from __future__ import annotations

import msgspec

from accounting.served import ServedTokens

__all__ = ["Leg", "leg_batch_id"]


def leg_batch_id(batch_id: str, route_index: int) -> str:
    """The id a leg's upstream work carries: the batch's own for the first route, `<batch>-r<k>` for route k≥2."""
    return batch_id if route_index == 0 else f"{batch_id}-r{route_index + 1}"


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    route_index: int  # into `Settings.routes_for(model)`
    provider: str
    upstream_model: str
    input_key: str  # the storage key of the lines sent on this leg
    provider_state: bytes = b""  # kept for the upstream's clean-up at close
    results_key: str | None = None  # the lines this leg finished (None: it finished none)
    requests: int = 0  # lines sent on this leg
    completed: int = 0  # of those, kept as successes
    failed: int = 0  # kept as final errors (not retryable: a retry elsewhere would fail the same way)
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    # The tokens this leg was served per price multiplier (None: its route has no price windows).
    served: ServedTokens | None = None
    deferred_until: int | None = None  # unix s: this leg waited for an off-peak price window until then
