"""What the user watches: transfer bars for upload/download, and the live status of a running batch.

`Tracker` turns successive request counts into a rate and an ETA over a sliding window, so a batch
that stalls shows its rate falling instead of its lifetime average.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress_bar import ProgressBar
from rich.text import Text

from gateway.client.wire import BatchView, CostView

__all__ = ["Tracker", "TransferBar", "format_duration", "render_batch", "status_line", "transfer"]


class Tracker:
    """Rate (requests per second) and ETA from the counts seen within the last `window` seconds."""

    def __init__(self, window: float = 120.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def observe(self, now: float, done: int) -> None:
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()

    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None

    def eta(self, remaining: int) -> float | None:
        rate = self.rate()
        if remaining <= 0:
            return 0.0
        return remaining / rate if rate else None


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _money(amount: Decimal) -> str:
    # Cents for dollars and more; batch lines cost fractions of a cent, so small amounts keep 6 places.
    places = Decimal("0.01") if abs(amount) >= 1 else Decimal("0.000001")
    return f"${amount.quantize(places, rounding=ROUND_HALF_UP)}"


def status_line(batch: BatchView, rate: float | None, eta: float | None, cost: CostView | None) -> str:
    counts = batch.counts
    parts = [batch.status, f"{counts.completed} completed", f"{counts.failed} failed", f"of {counts.total or '?'}"]
    if rate is not None:
        parts.append(f"{rate:.1f} req/s")
    if eta is not None and not batch.terminal:
        parts.append(f"ETA {format_duration(eta)}")
    if cost is not None:
        parts.extend(_cost(cost))
    return " · ".join(parts)


def _cost(cost: CostView) -> list[str]:
    if cost.settled_at is None:
        estimate = cost.estimated_max_cost_usd
        return [] if estimate is None else [f"cost at most {_money(estimate)} (estimate)"]
    if cost.batch_cost_usd is None:
        return []
    saved = f" (saved {_money(cost.savings_usd)})" if cost.savings_usd else ""
    return [f"cost {_money(cost.batch_cost_usd)}{saved}"]


def render_batch(batch: BatchView, tracker: Tracker, cost: CostView | None) -> RenderableType:
    counts = batch.counts
    rate = tracker.rate()
    line = Text(f"{batch.id}  ", style="bold")
    line.append(status_line(batch, rate, tracker.eta(counts.total - counts.done), cost))
    bar = ProgressBar(total=float(counts.total or 1), completed=float(counts.done), width=40)
    return Group(line, bar)


@dataclass
class TransferBar:
    """A started transfer: call `start(total)` once the size is known, `advance(n)` per chunk."""

    progress: Progress
    task: TaskID

    def start(self, total: int | None) -> None:
        self.progress.update(self.task, total=total)  # None: an unknown size, the bar pulses

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task, amount)


@contextmanager
def transfer(console: Console, description: str, total: int | None = None) -> Iterator[TransferBar]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield TransferBar(progress, progress.add_task(description, total=total))
