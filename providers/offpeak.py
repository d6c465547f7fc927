"""When a batch on a native route with price windows should start: the off-peak deferral plan.

The estimated run time is the slower of the provider's two rate limits, with a safety factor and a margin:

    run = max(lines / requests_per_minute, tokens / tokens_per_minute, lines / measured rate) * SAFETY + MARGIN

(a limit that is not configured, or a rate not yet measured, does not bound the run; with none, the run is
the margin). The measured rate is the provider's lines per second in its last completed deferred batch. Candidate
starts are now, every later instant at which the price multiplier changes, and the last start that still
lets the run finish before `expires_at`; each is scored by the average multiplier over its run, and
the cheapest wins, the earliest among equals. When no later start fits, the batch starts at once, whatever
the hour (priced at peak if it is peak).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from accounting.price_windows import PriceWindow, segments

__all__ = ["MARGIN_SECONDS", "SAFETY_FACTOR", "Plan", "estimate_run_seconds", "plan_start"]

SAFETY_FACTOR = 1.5
MARGIN_SECONDS = 15 * 60.0


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    start: float  # unix seconds: when to send the first line (now when it should not wait)
    run_seconds: float  # the estimate the plan was made with
    multiplier: Decimal  # the average price multiplier over [start, start + run_seconds)


def estimate_run_seconds(
    lines: int, tokens: int, rpm: int | None, tpm: int | None, measured_per_second: float | None = None
) -> float:
    """How long `lines` carrying about `tokens` take under the provider's limits and its measured throughput
    (lines per second), with the safety margin."""
    measured = lines / measured_per_second / 60 if measured_per_second else 0.0
    minutes = max(lines / rpm if rpm else 0.0, tokens / tpm if tpm else 0.0, measured)
    return minutes * 60 * SAFETY_FACTOR + MARGIN_SECONDS


def _average(windows: Sequence[PriceWindow], start: float, seconds: float) -> Decimal:
    total = Decimal(0)
    for part in segments(windows, start, start + seconds):
        total += part.multiplier * Decimal(repr(part.end - part.start))
    return total / Decimal(repr(seconds))


def _candidates(windows: Sequence[PriceWindow], now: float, latest: float) -> list[float]:
    changes = [part.start for part in segments(windows, now, latest) if part.start > now]
    return [now, *changes, latest]  # the latest start that fits: as much of the run as possible after a peak


def plan_start(windows: Sequence[PriceWindow], now: float, expires_at: float, run_seconds: float) -> Plan:
    """The cheapest start in [now, expires_at - run_seconds]; `now` when nothing later fits or is cheaper."""
    latest = expires_at - run_seconds
    if latest <= now or not windows:
        return Plan(start=now, run_seconds=run_seconds, multiplier=_average(windows, now, run_seconds))
    best: Plan | None = None
    for start in _candidates(windows, now, latest):
        plan = Plan(start=start, run_seconds=run_seconds, multiplier=_average(windows, start, run_seconds))
        if best is None or plan.multiplier < best.multiplier:
            best = plan
    assert best is not None  # `now` is always a candidate
    return best
