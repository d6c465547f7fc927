"""Time-of-day prices: the windows in which a model's real-time price differs from its base price.

A window is a daily (or weekday/weekend) span of wall-clock time in a timezone, e.g. DeepSeek's peak hours
01:00-04:00 and 06:00-10:00 UTC billed at 2x. Outside every window the multiplier is 1. Where windows
overlap, the first one listed wins. A window whose `end` is before its `start` runs past midnight.

Everything here is pure: callers pass the instant (unix seconds) they price or schedule for, so tests move
the clock by passing another number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

__all__ = ["PriceWindow", "Segment", "highest_multiplier", "multiplier_at", "segments"]

_ONE = Decimal(1)
_WEEKDAYS = frozenset(range(5))
_DAY_SETS: dict[str, frozenset[int]] = {
    "daily": frozenset(range(7)),
    "weekdays": _WEEKDAYS,
    "weekends": frozenset({5, 6}),
}
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class PriceWindow(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[[models]] price_windows` entry: between `start` and `end` (local to `timezone`) prices x `multiplier`."""

    start: ClockTime
    end: ClockTime
    multiplier: Decimal
    days: Literal["daily", "weekdays", "weekends"] = "daily"
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise msgspec.ValidationError("a price window's `start` and `end` must differ")
        if not self.multiplier > 0:  # Decimal takes no bounds in msgspec; NaN fails this too
            raise msgspec.ValidationError("a price window's `multiplier` must be > 0")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise msgspec.ValidationError(f"unknown timezone {self.timezone!r}") from exc

    def contains(self, at: float) -> bool:
        local = dt.datetime.fromtimestamp(at, ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        if start < end:
            return start <= minute < end and local.weekday() in _DAY_SETS[self.days]
        # Past midnight: the part after midnight belongs to the day the window started.
        if minute >= start:
            return local.weekday() in _DAY_SETS[self.days]
        return minute < end and (local.weekday() - 1) % 7 in _DAY_SETS[self.days]


class Segment(msgspec.Struct, frozen=True):
    """[start, end) in unix seconds during which the multiplier stays `multiplier`."""

    start: float
    end: float
    multiplier: Decimal


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def highest_multiplier(windows: Sequence[PriceWindow]) -> Decimal:
    """The dearest multiplier a line may be served at (1 is the rate outside every window): budgets reserve
    with it, since a batch whose deadline cannot wait runs at peak."""
    return max((window.multiplier for window in windows), default=_ONE).max(_ONE)


def multiplier_at(windows: Sequence[PriceWindow], at: float) -> Decimal:
    """The price multiplier in effect at unix time `at` (1 outside every window)."""
    for window in windows:
        if window.contains(at):
            return window.multiplier
    return _ONE


def segments(windows: Sequence[PriceWindow], start: float, end: float) -> Iterator[Segment]:
    """Split [start, end) into spans of constant multiplier, in order.

    Windows start and end on whole minutes, so the multiplier can only change on a minute boundary; the scan
    steps minute by minute (a day is 1,440 steps), which keeps DST and past-midnight windows trivially right.
    """
    if end <= start:
        return
    current = multiplier_at(windows, start)
    span_start = start
    boundary = (int(start) // 60 + 1) * 60
    while boundary < end:
        rate = multiplier_at(windows, boundary)
        if rate != current:
            yield Segment(span_start, float(boundary), current)
            span_start, current = float(boundary), rate
        boundary += 60
    yield Segment(span_start, end, current)
