"""Rate, ETA and the status line of the live display."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.client.progress import Tracker, format_duration, status_line
from gateway.client.wire import BatchView, CostView, RequestCountsView


def batch(status: str = "in_progress", completed: int = 0, failed: int = 0, total: int = 100) -> BatchView:
    counts = RequestCountsView(total=total, completed=completed, failed=failed)
    return BatchView(id="batch_1", status=status, request_counts=counts)


def test_rate_needs_two_samples_and_uses_the_window() -> None:
    tracker = Tracker(window=10.0)
    assert tracker.rate() is None
    assert tracker.eta(50) is None
    tracker.observe(0.0, 0)
    tracker.observe(5.0, 50)
    assert tracker.rate() == pytest.approx(10.0)
    assert tracker.eta(50) == pytest.approx(5.0)
    # A stall: the old fast samples leave the window and the rate falls instead of averaging forever.
    tracker.observe(20.0, 50)
    tracker.observe(30.0, 51)
    assert tracker.rate() == pytest.approx(0.1)
    assert tracker.eta(0) == 0.0


def test_no_progress_means_no_eta() -> None:
    tracker = Tracker()
    tracker.observe(0.0, 3)
    tracker.observe(1.0, 3)
    assert tracker.rate() == 0.0
    assert tracker.eta(10) is None


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.4, "59s"), (61, "1m01s"), (3600 * 2 + 120, "2h02m")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_status_line_counts_rate_eta() -> None:
    line = status_line(batch(completed=40, failed=2), 4.25, 90, None)
    assert line == "in_progress · 40 completed · 2 failed · of 100 · 4.2 req/s · ETA 1m30s"


def test_status_line_unknown_total_and_terminal_has_no_eta() -> None:
    assert status_line(batch(status="validating", total=0), None, None, None) == (
        "validating · 0 completed · 0 failed · of ?"
    )
    assert "ETA" not in status_line(batch(status="completed", completed=100), 1.0, 0.0, None)


def test_status_line_costs() -> None:
    settled = CostView(batch_cost_usd=Decimal("0.0000288"), savings_usd=Decimal("0.0000288"), settled_at=1)
    assert status_line(batch(), None, None, settled).endswith("cost $0.000029 (saved $0.000029)")
    big = CostView(batch_cost_usd=Decimal("12.345"), savings_usd=Decimal("0"), settled_at=1)
    assert status_line(batch(), None, None, big).endswith("cost $12.35")  # nothing saved: no "(saved ...)"
    estimate = CostView(batch_cost_usd=Decimal("0"), estimated_max_cost_usd=Decimal("0.5"))
    assert status_line(batch(), None, None, estimate).endswith("cost at most $0.500000 (estimate)")
    assert "cost" not in status_line(batch(), None, None, CostView())
