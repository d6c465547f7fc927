"""Following a batch to a terminal status with a live display, and what Ctrl-C does meanwhile."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Literal

import click
from rich.console import Console
from rich.live import Live

from gateway.client.api import Api
from gateway.client.errors import RequestRejected, Unavailable
from gateway.client.progress import Tracker, render_batch
from gateway.client.wire import BatchView, CostView
from providers.retry import full_jitter

__all__ = ["CostProbe", "follow", "follow_interruptibly"]

Choice = Literal["cancel", "stop", "keep"]
_CHOICES: dict[str, Choice] = {"c": "cancel", "s": "stop", "k": "keep"}


class CostProbe:
    """Cost so far from batchgate's accounting API, asked at most every `every` seconds.

    Servers without that API (OpenAI, DeepSeek, DeepInfra, or a batchgate that has not settled the
    batch yet) answer 404 or similar; that is silently "no cost to show".
    """

    def __init__(self, api: Api, every: float = 10.0) -> None:
        self._api = api
        self._every = every
        self._asked_at: float | None = None
        self._latest: CostView | None = None

    def latest(self, batch_id: str, now: float, *, force: bool = False) -> CostView | None:
        if force or self._asked_at is None or now - self._asked_at >= self._every:
            self._asked_at = now
            # The cost is decoration; the batch poll reports real connection trouble.
            with suppress(Unavailable):
                self._latest = self._api.cost(batch_id) or self._latest
        return self._latest


def _poll(api: Api, batch_id: str, patience: float) -> BatchView:
    """Retrieve the batch, riding out transient failures (network, 5xx, 429) for up to `patience` s."""
    deadline: float | None = None
    failures = 0
    while True:
        try:
            return api.batch(batch_id).value
        except Unavailable:
            now = time.monotonic()
            deadline = deadline or now + patience
            if now >= deadline:
                raise
            failures += 1
            time.sleep(min(full_jitter(failures, base=0.5, cap=30.0), deadline - now))


def follow(api: Api, batch_id: str, *, interval: float, console: Console, patience: float = 300.0) -> BatchView:
    """Poll every `interval` seconds until the batch is terminal, redrawing its status each time."""
    tracker = Tracker()
    costs = CostProbe(api)
    with Live(console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False) as live:
        while True:
            batch = _poll(api, batch_id, patience)
            now = time.monotonic()
            tracker.observe(now, batch.counts.done)
            cost = costs.latest(batch_id, now, force=batch.terminal)
            if batch.terminal and cost is not None and cost.settled_at is None:
                time.sleep(0.5)  # batchgate settles right after the terminal status: one more look
                cost = costs.latest(batch_id, now, force=True)
            live.update(render_batch(batch, tracker, cost), refresh=True)
            if batch.terminal:
                return batch
            time.sleep(interval)


def _ask(console: Console) -> Choice:
    console.print()
    try:
        answer = click.prompt(
            "[c]ancel the batch, [s]top following (it keeps running), or [k]eep following?",
            type=click.Choice(list(_CHOICES)),
            default="s",
            err=True,
        )
    except click.Abort:  # a second Ctrl-C, or stdin closed: the least destructive choice
        return "stop"
    return _CHOICES[answer]


def follow_interruptibly(
    api: Api, batch_id: str, *, interval: float, console: Console, interactive: bool
) -> BatchView | None:
    """`follow`, where Ctrl-C asks what to do (or, not interactive, stops following); None = stopped."""
    while True:
        try:
            return follow(api, batch_id, interval=interval, console=console)
        except KeyboardInterrupt:
            choice = _ask(console) if interactive else "stop"
        if choice == "stop":
            console.print(
                f"stopped following {batch_id}; it keeps running.\n"
                f"  resume:  batchgate batches wait {batch_id}\n"
                f"  cancel:  batchgate batches cancel {batch_id}"
            )
            return None
        if choice == "cancel":
            try:
                status = api.cancel(batch_id).value.status
                console.print(f"cancel requested: {batch_id} is {status}; following it to the end")
            except RequestRejected as exc:  # it finished meanwhile: following shows how
                console.print(exc.format_message())
