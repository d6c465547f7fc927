"""The event loop of batchgate's long-running commands (`serve` gets it through uvicorn, `worker` here)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["run_on_fastest_loop"]


def run_on_fastest_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed: the loop `serve` already runs on (uvicorn's loop="auto"), so the executor
    behaves the same embedded or alone; its CPU per line is a few percent lower there (test_native_bench)."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows, which uvloop does not support
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
