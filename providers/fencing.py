"""What a provider may ask of the worker step that drives it, without importing the gateway.

A worker step holds a claim (lease + fencing token) on one batch. A step paused past its lease (GC pause,
SIGSTOP, network blip) may wake up after another worker took the batch over; from then on it must not act
for the batch. The gateway installs a `StepGuard` for the running step (a context variable, so each step's
task sees its own and providers keep their one small protocol); providers call `check_lease()` right
before an upstream side effect that bills (creating an upstream batch) and `save_state()` to record
progress inside a long call (each shard as it is created), so a crash mid-call loses nothing.

Outside a worker step (tests driving a provider directly, the CLI) there is no guard: both are no-ops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

__all__ = ["LeaseLostError", "StepGuard", "check_lease", "guarded", "save_state"]


class LeaseLostError(Exception):
    """The step's claim on its batch passed to another worker. Not a failure of the batch: the step stops
    before its next write and leaves the batch to the new holder (the step runner logs it, no retry)."""

    def __init__(self, batch_id: str, detail: str = "") -> None:
        super().__init__(f"lost the claim on batch {batch_id}{': ' + detail if detail else ''}")
        self.batch_id = batch_id


class StepGuard(Protocol):
    async def check_lease(self) -> None:
        """Raise LeaseLostError when another worker now holds the batch."""
        ...

    async def save_state(self, state: bytes) -> None:
        """Record the provider's state on the batch (fenced); raise LeaseLostError when the claim is lost."""
        ...


_guard: ContextVar[StepGuard | None] = ContextVar("batchgate_step_guard", default=None)


@contextlib.contextmanager
def guarded(guard: StepGuard) -> Iterator[None]:
    """Install `guard` for the code run inside (the current task and what it awaits)."""
    token = _guard.set(guard)
    try:
        yield
    finally:
        _guard.reset(token)


async def check_lease() -> None:
    guard = _guard.get()
    if guard is not None:
        await guard.check_lease()


async def save_state(state: bytes) -> None:
    guard = _guard.get()
    if guard is not None:
        await guard.save_state(state)
