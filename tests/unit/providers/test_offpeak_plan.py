"""The off-peak planner: cheapest start that still finishes before the deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounting.price_windows import PriceWindow
from providers.offpeak import MARGIN_SECONDS, estimate_run_seconds, plan_start

PEAK = [
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2)),
]
DAY = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)  # a Monday


def at(hour: int, minute: int = 0, day: int = 0) -> float:
    return (DAY + dt.timedelta(days=day, hours=hour, minutes=minute)).timestamp()


def test_the_estimate_is_the_slower_limit_with_safety_and_margin() -> None:
    assert estimate_run_seconds(600, 10_000, rpm=60, tpm=None) == 10 * 60 * 1.5 + MARGIN_SECONDS
    assert estimate_run_seconds(60, 1_000_000, rpm=60, tpm=50_000) == 20 * 60 * 1.5 + MARGIN_SECONDS
    assert estimate_run_seconds(10**6, 10**9, rpm=None, tpm=None) == MARGIN_SECONDS
    # Measured: 3,600 lines at 2 lines/s is 30 min, slower than the RPM limit allows.
    assert estimate_run_seconds(3600, 0, rpm=600, tpm=None, measured_per_second=2.0) == 1800 * 1.5 + MARGIN_SECONDS


def test_a_batch_created_at_peak_waits_for_the_end_of_the_window() -> None:
    plan = plan_start(PEAK, at(2), at(2, day=1), run_seconds=1800)
    assert plan.start == at(4)
    assert plan.multiplier == 1


def test_a_batch_created_off_peak_starts_at_once() -> None:
    plan = plan_start(PEAK, at(17), at(17, day=1), run_seconds=3600)
    assert plan.start == at(17)
    assert plan.multiplier == 1


def test_a_run_that_would_cross_into_peak_waits_for_a_gap_long_enough() -> None:
    # 05:00 leaves one off-peak hour before 06:00; a 2 h run fits only from 10:00.
    plan = plan_start(PEAK, at(5), at(5, day=1), run_seconds=7200)
    assert plan.start == at(10)
    assert plan.multiplier == 1


def test_a_deadline_that_cannot_wait_starts_at_once_at_peak() -> None:
    plan = plan_start(PEAK, at(2), at(3), run_seconds=3600)
    assert plan.start == at(2)
    assert plan.multiplier == Decimal(2)


def test_when_no_window_is_cheap_enough_the_least_dear_start_wins() -> None:
    # Created 02:00, deadline 05:30, run 2 h: from 02:00 it is all peak; from 03:30 (the latest) a quarter.
    plan = plan_start(PEAK, at(2), at(5, minute=30), run_seconds=7200)
    assert plan.start == at(3, minute=30)
    assert plan.multiplier == Decimal("1.25")


@pytest.mark.parametrize("hour", [0, 1, 3, 5, 6, 9, 10, 12, 23])
def test_the_planned_run_never_overlaps_peak_when_a_day_is_left(hour: int) -> None:
    plan = plan_start(PEAK, at(hour), at(hour, day=1), run_seconds=3600)
    assert plan.multiplier == 1
    assert plan.start + 3600 <= at(hour, day=1)


def test_without_windows_a_batch_starts_at_once() -> None:
    assert plan_start([], at(2), at(2, day=1), run_seconds=60).start == at(2)
