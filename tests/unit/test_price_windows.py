"""Time-of-day price windows: which multiplier applies when, and how a span splits into constant-rate parts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from accounting.price_windows import PriceWindow, highest_multiplier, multiplier_at, segments

PEAKS = [
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2)),
]


def _utc(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(0, 59, 1), (1, 0, 2), (3, 59, 2), (4, 0, 1), (5, 30, 1), (6, 0, 2), (9, 59, 2), (10, 0, 1), (17, 0, 1)],
)
def test_the_multiplier_follows_the_peak_windows(hour: int, minute: int, expected: int) -> None:
    assert multiplier_at(PEAKS, _utc(2, hour, minute)) == Decimal(expected)


def test_a_window_in_another_timezone_is_read_in_that_timezone() -> None:
    beijing_peak = [PriceWindow(start="09:00", end="12:00", timezone="Asia/Shanghai", multiplier=Decimal(2))]
    assert multiplier_at(beijing_peak, _utc(2, 1, 0)) == 2  # 09:00 in Beijing
    assert multiplier_at(beijing_peak, _utc(2, 4, 0)) == 1  # 12:00 in Beijing


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    # 2026-12-04 is a Friday, 12-05 a Saturday: a weekday night window runs into Saturday morning.
    night = [PriceWindow(start="22:00", end="02:00", days="weekdays", multiplier=Decimal("0.5"))]
    assert multiplier_at(night, _utc(4, 23, 0)) == Decimal("0.5")
    assert multiplier_at(night, _utc(5, 1, 0)) == Decimal("0.5")
    assert multiplier_at(night, _utc(5, 23, 0)) == 1  # Saturday night is not a weekday window
    assert multiplier_at(night, _utc(6, 1, 0)) == 1


def test_segments_split_a_day_at_every_window_edge() -> None:
    parts = list(segments(PEAKS, _utc(2, 0, 30), _utc(2, 12)))
    assert [(p.start, p.end, p.multiplier) for p in parts] == [
        (_utc(2, 0, 30), _utc(2, 1), 1),
        (_utc(2, 1), _utc(2, 4), 2),
        (_utc(2, 4), _utc(2, 6), 1),
        (_utc(2, 6), _utc(2, 10), 2),
        (_utc(2, 10), _utc(2, 12), 1),
    ]
    assert list(segments(PEAKS, 10.0, 10.0)) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"start": "01:00", "end": "01:00", "multiplier": "2"}, "must differ"),
        ({"start": "1:00", "end": "04:00", "multiplier": "2"}, "start"),
        ({"start": "01:00", "end": "04:00", "multiplier": "0"}, "multiplier"),
        ({"start": "01:00", "end": "04:00", "multiplier": "2", "timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"start": "01:00", "end": "04:00", "multiplier": "2", "days": "sundays"}, "days"),
    ],
)
def test_a_bad_window_is_refused_with_its_field(raw: dict[str, str], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(raw, PriceWindow, strict=False)


def test_the_highest_multiplier_is_the_dearest_window_and_never_below_the_base_rate() -> None:
    peak = PriceWindow(start="01:00", end="04:00", multiplier=Decimal("2"))
    night = PriceWindow(start="22:00", end="23:00", multiplier=Decimal("0.5"))
    assert highest_multiplier([night, peak]) == Decimal(2)
    assert highest_multiplier([night]) == Decimal(1)  # outside the window the base rate applies
    assert highest_multiplier([]) == Decimal(1)
