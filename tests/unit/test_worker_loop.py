"""`batchgate worker` runs on uvloop, the loop `serve` gets through uvicorn's loop="auto"."""

from __future__ import annotations

import asyncio

from gateway.runtime import run_on_fastest_loop


def test_the_worker_command_runs_its_coroutine_on_uvloop() -> None:
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])

    run_on_fastest_loop(main())
    assert loops == ["uvloop"]
