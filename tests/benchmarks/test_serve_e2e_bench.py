"""The native executor end to end, as a user runs it (issue #16): `batchgate serve` (or `serve --no-worker`
plus `batchgate worker`) and the simulator as separate processes, batches through the openai SDK.

1. Throughput: zero-latency simulator, limits off, `max_concurrency = 64`, 5,000 lines. Upstream lines/s
   from the first to the last request the simulator saw, against a raw aiohttp loop at concurrency 64
   on the same simulator in the same run (interleaved, BENCH_REPS times; target >= 0.6x); and
   create-to-completed against the span of the sends (target <= sends + 1 s).
2. 429 storm: 3,000 lines, 30 ms latency, 5% 429 (`Retry-After: 1`, per line), 2% 500, RPM 10,800
   (~17 s of sends): target <= 1.3x the RPM time (24 s), 0 lines lost, no line sent more than
   `max_attempts` times, no request before a Retry-After it was given.
3. Fair sharing: tenant A's 20,000 lines at 30 ms latency running, tenant B's 10 lines: target <= 5 s.
4. One huge line: with `tokens_per_minute = 100000` and `[[models]] max_output_tokens`, tenant A's line
   asking for 1e8 tokens is refused at validation; without the cap it is sent (its reservation bounded
   to one second of TPM); either way tenant B's 5 lines complete as if it never existed.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

import aiohttp
import msgspec
import pytest

from tests.benchmarks.serve_harness import BatchRun, Gateway, chat_lines, load, simulator, upstream_stats
from tests.benchmarks.test_native_bench import Run, _bodies, raw_aiohttp

pytestmark = pytest.mark.benchmark
REPS = int(os.environ.get("BENCH_REPS", "3"))


class Phases(msgspec.Struct):
    """One end-to-end run, split where the simulator saw its first and last request."""

    count: int  # requests the simulator saw during the run
    start_up: float  # create returned -> first upstream request (validation, chunking, claiming)
    sends: float  # first -> last upstream request
    finish: float  # last upstream request -> a GET shows `completed` (poll, results, files, settlement)


def _phases(arrivals: list[float], run: BatchRun) -> Phases:
    inside = sorted(t for t in arrivals if run.created_at <= t <= run.finished_at)
    return Phases(len(inside), inside[0] - run.created_at, inside[-1] - inside[0], run.finished_at - inside[-1])


@pytest.mark.parametrize("topology", ["embedded", "split"])
async def test_end_to_end_vs_raw_aiohttp(redis_url: str, tmp_path: Path, topology: str) -> None:
    lines, concurrency, before = 5000, 64, load()
    data = chat_lines(lines, "e2e")
    with simulator() as upstream:
        url, bodies = f"{upstream}/chat/completions", _bodies(lines)
        gateway = Gateway(tmp_path, redis_url, upstream, f"max_concurrency = {concurrency}")
        gateway.start(split=topology == "split")
        try:
            await raw_aiohttp(url, bodies[:500], concurrency)  # warm-up, both sides
            await gateway.run_batch("a", chat_lines(500, "warm"))
            rows: list[tuple[Run, float, Phases, float]] = []
            for _ in range(REPS):
                raw = await raw_aiohttp(url, bodies, concurrency)
                run = await gateway.run_batch("a", data)
                assert (run.status, run.completed) == ("completed", lines)
                phases = _phases(upstream_stats(upstream)["arrivals"], run)  # type: ignore[arg-type]
                assert phases.count == lines
                rows.append((raw, lines / phases.sends, phases, run.seconds))
        finally:
            gateway.stop()
    ratios = [ours / raw.rate for raw, ours, _, _ in rows]
    print(f"\n[e2e bench] serve ({topology} worker), {lines} lines, concurrency {concurrency}, zero latency, "
          f"{REPS} reps; before: {before}; after: {load()}")  # fmt: skip
    for raw, ours, phases, total in rows:
        print(f"[e2e bench]   raw aiohttp {raw.rate:6.0f} lines/s | gateway upstream {ours:6.0f} lines/s "
              f"({ours / raw.rate:.2f}x) | create-to-completed {total:.2f} s = start-up {phases.start_up:.2f} "
              f"+ sends {phases.sends:.2f} + finish {phases.finish:.2f} "
              f"(sends + {total - phases.sends:.2f} s)")  # fmt: skip
    print(f"[e2e bench]   median ratio {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f})")
    assert all(r > 0 for r in ratios)


async def _paced_raw(url: str, bodies: list[bytes], rpm: int, concurrency: int) -> float:
    """What the machine allows at this RPM: a raw aiohttp loop sending every body once, evenly spaced."""
    interval, started = 60 / rpm, time.monotonic()
    slots = iter(range(len(bodies)))
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for index in slots:
                await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
                async with session.post(url, data=bodies[index], headers=headers) as response:
                    await response.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic() - started


async def test_429_storm(redis_url: str, tmp_path: Path) -> None:
    lines, rpm, before = 3000, 10_800, load()
    flags = ("--latency", "0.03", "--fail-429", "0.05", "--fail-500", "0.02", "--retry-after", "1")
    with simulator(*flags) as upstream:
        raw = await _paced_raw(f"{upstream}/chat/completions", _bodies(lines), rpm, 64)
        gateway = Gateway(tmp_path, redis_url, upstream, f"requests_per_minute = {rpm}\nmax_attempts = 5").start()
        try:
            run = await gateway.run_batch("a", chat_lines(lines, "storm"))
        finally:
            gateway.stop()
        stats = upstream_stats(upstream)
    allowed = lines * 60 / rpm
    print(f"\n[e2e bench] 429 storm: {lines} lines, RPM {rpm} ({allowed:.1f} s of sends), 5% 429 + 2% 500, "
          f"30 ms latency; before: {before}; after: {load()}\n"
          f"[e2e bench]   raw aiohttp, same pacing, each line once, same run: {raw:.1f} s "
          f"({raw / allowed:.2f}x the RPM time: what this machine allows now)\n"
          f"[e2e bench]   gateway create-to-completed {run.seconds:.1f} s = {run.seconds / allowed:.2f}x the RPM time, "
          f"{run.seconds / raw:.2f}x the raw loop; completed {run.completed}, failed {run.failed}; "
          f"requests {stats['count']}, statuses {stats['statuses']}, most sends of one line {stats['most_sends']}, "
          f"requests before their Retry-After {stats['early']}")  # fmt: skip
    assert run.completed + run.failed == lines
    assert stats["early"] == 0
    assert stats["most_sends"] <= 5  # type: ignore[operator]


async def test_fair_sharing(redis_url: str, tmp_path: Path) -> None:
    before = load()
    with simulator("--latency", "0.03") as upstream:
        gateway = Gateway(tmp_path, redis_url, upstream, "max_concurrency = 64").start()
        try:
            big = asyncio.create_task(gateway.run_batch("a", chat_lines(20_000, "big"), deadline=900))
            await asyncio.sleep(8)  # A's batch is validated and running
            small = await gateway.run_batch("b", chat_lines(10, "small"))
            big_run = await big
        finally:
            gateway.stop()
    print(f"\n[e2e bench] fair sharing: tenant B's 10 lines {small.seconds:.2f} s while tenant A's 20,000 ran "
          f"(A: {big_run.seconds:.1f} s); before: {before}; after: {load()}")  # fmt: skip
    assert small.completed == 10
    assert big_run.completed == 20_000


@pytest.mark.parametrize("capped", [True, False])
async def test_one_huge_line_does_not_stall_another_tenant(redis_url: str, tmp_path: Path, capped: bool) -> None:
    before = load()
    model = "max_output_tokens = 8192" if capped else ""
    with simulator("--latency", "0.03") as upstream:
        gateway = Gateway(tmp_path, redis_url, upstream, "tokens_per_minute = 100000", model).start()
        try:
            huge = asyncio.create_task(gateway.run_batch("a", chat_lines(1, "huge", max_tokens=100_000_000)))
            await asyncio.sleep(0.5)
            small = await gateway.run_batch("b", chat_lines(5, "small"))
            huge_run = await huge
        finally:
            gateway.stop()
    print(f"\n[e2e bench] one line asking for 1e8 tokens, TPM 100,000, cap {'8192' if capped else 'none'}: tenant "
          f"A's batch {huge_run.status} ({huge_run.completed} completed, {huge_run.failed} failed), tenant B's 5 lines "
          f"{small.status} in {small.seconds:.2f} s; before: {before}; after: {load()}")  # fmt: skip
    assert small.completed == 5
    assert huge_run.status == ("failed" if capped else "completed")
