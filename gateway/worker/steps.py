"""Which part of a worker step is running, so a failure is classified and counted by it (worker/failures.py).

Each step runs in its own asyncio task, and a task has its own copy of the context: the name never leaks
from one batch's step into another's.
"""

from __future__ import annotations

import contextvars

__all__ = ["current_step", "entering"]

_step: contextvars.ContextVar[str] = contextvars.ContextVar("batchgate_worker_step", default="step")


def entering(step: str) -> None:
    """Name the part now running: validate, submit, poll, cancel, finish, expire, close, end."""
    _step.set(step)


def current_step() -> str:
    return _step.get()
