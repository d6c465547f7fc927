"""`batchgate worker` (and the suite's stand-alone worker) run through `run_on_fastest_loop`: uvloop here."""

from __future__ import annotations

import asyncio

from gateway.ops.runtime import run_on_fastest_loop


def test_run_on_fastest_loop_runs_the_coroutine_on_uvloop_where_installed() -> None:
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])

    run_on_fastest_loop(main())
    assert loops == ["uvloop"]
