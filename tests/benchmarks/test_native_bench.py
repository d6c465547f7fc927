"""Native executor benchmarks (run with `make bench`); the simulator runs in its own process.

1. Client choice and overhead: zero-latency simulator, limits off, concurrency 64, 5,000 lines — raw
   request loops with aiohttp, httpx and httpx + `httpx-aiohttp`, then the executor end to end (submit,
   run, every outcome recorded in Redis) as a ratio to the raw aiohttp loop (target >= 0.7x).
2. Latency-bound throughput: 200 ms latency, concurrency 512 — lines/s vs the theoretical 2,560.
3. Rate-limit fidelity: RPM 600 for over 2 minutes — requests in the steady 60 s window vs the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import httpx
import httpx_aiohttp
import msgspec
import pytest
import redis.asyncio as aioredis

from providers.config import ProviderSettings
from providers.native import NativeProvider, NativeTuning
from tests.integration.providers.native.helpers import input_lines, make_job, poll_until_finished, running
from tests.support.blobs import DirBlobs
from tests.support.ports import free_port

pytestmark = pytest.mark.benchmark
ROOT = Path(__file__).resolve().parents[2]
LINES = 5000


@contextlib.contextmanager
def simulator(latency: float = 0.0, rpm: int | None = None) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.realtime_upstream", "--port", str(port), "--latency", str(latency)]
    if rpm:
        argv += ["--rpm", str(rpm)]
    process = subprocess.Popen(argv, cwd=ROOT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def _bodies(n: int) -> list[bytes]:
    return [msgspec.json.encode(msgspec.json.decode(line)["body"]) for line in input_lines(n).splitlines()]


async def _pool(bodies: list[bytes], concurrency: int, send: Callable[[bytes], Awaitable[None]]) -> float:
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            await send(body)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(bodies) / (time.perf_counter() - started)


async def raw_aiohttp(url: str, bodies: list[bytes], concurrency: int) -> float:
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(body: bytes) -> None:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()

        return await _pool(bodies, concurrency, send)


async def raw_httpx(url: str, bodies: list[bytes], concurrency: int, transport: bool) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    extra = {"transport": httpx_aiohttp.AiohttpTransport(limits=limits)} if transport else {}
    async with httpx.AsyncClient(limits=limits, **extra) as client:  # type: ignore[arg-type]

        async def send(body: bytes) -> None:
            response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
            response.read()

        return await _pool(bodies, concurrency, send)


@contextlib.asynccontextmanager
async def executor(redis_url: str, tmp_path: Path, base_url: str, **settings: object) -> AsyncIterator[NativeProvider]:
    client = aioredis.Redis.from_url(redis_url)
    values: dict[str, object] = {"kind": "native", "base_url": base_url} | settings
    provider = NativeProvider("bench", ProviderSettings(**values), client, DirBlobs(tmp_path / "blobs"), None,  # type: ignore[arg-type]
                              worker_id="bench", tuning=NativeTuning(chunk_lines=200))  # fmt: skip
    try:
        yield provider
    finally:
        await provider.aclose()
        await client.aclose()


async def _executor_rate(provider: NativeProvider, tmp_path: Path, lines: int) -> float:
    job = await make_job(DirBlobs(tmp_path / "blobs"), lines, batch_id=f"batch_bench_{time.monotonic_ns()}")
    state = await provider.submit(job)
    started = time.perf_counter()
    async with running(provider):
        finished = await poll_until_finished(provider, job, state, limit=600)
    elapsed = time.perf_counter() - started
    assert finished.progress.completed == lines
    return lines / elapsed


async def test_overhead_vs_raw_clients(redis_url: str, tmp_path: Path) -> None:
    with simulator() as base_url:
        url, bodies = f"{base_url}/chat/completions", _bodies(LINES)
        await raw_aiohttp(url, bodies[:500], 64)  # warm-up
        figures = {
            "raw aiohttp": await raw_aiohttp(url, bodies, 64),
            "raw httpx": await raw_httpx(url, bodies, 64, transport=False),
            "raw httpx+httpx-aiohttp": await raw_httpx(url, bodies, 64, transport=True),
        }
        async with executor(redis_url, tmp_path, base_url, max_concurrency=64) as provider:
            figures["executor (aiohttp)"] = await _executor_rate(provider, tmp_path, LINES)
    for name, rate in figures.items():
        print(f"\n[native bench] {name:>26}: {rate:8.0f} lines/s  ({rate / figures['raw aiohttp']:.2f}x raw aiohttp)")
    assert figures["executor (aiohttp)"] > 0


async def test_latency_bound_throughput(redis_url: str, tmp_path: Path) -> None:
    with simulator(latency=0.2) as base_url:
        async with executor(redis_url, tmp_path, base_url, max_concurrency=512) as provider:
            rate = await _executor_rate(provider, tmp_path, LINES)
    print(f"\n[native bench] 200 ms latency, concurrency 512: {rate:.0f} lines/s ({rate / 2560:.2f}x of 2,560)")
    assert rate > 0


async def test_rate_limit_fidelity(redis_url: str, tmp_path: Path) -> None:
    lines = 1500  # 150 s at 600 RPM: the middle 60 s window is steady state
    with simulator() as base_url:
        async with executor(redis_url, tmp_path, base_url, max_concurrency=64, requests_per_minute=600) as provider:
            job = await make_job(DirBlobs(tmp_path / "blobs"), lines, batch_id="batch_bench_rpm")
            state = await provider.submit(job)
            async with running(provider):
                await poll_until_finished(provider, job, state, limit=400)
        async with httpx.AsyncClient() as client:
            stats = (await client.get(base_url.removesuffix("/v1") + "/_stats")).json()
    arrivals = sorted(stats["arrivals"])
    windows = [sum(1 for t in arrivals if start <= t < start + 60) for start in arrivals if start + 60 <= arrivals[-1]]
    steady = sum(1 for t in arrivals if arrivals[0] + 30 <= t < arrivals[0] + 90)
    print(
        f"\n[native bench] RPM 600 over {arrivals[-1] - arrivals[0]:.0f} s: steady 60 s window {steady} requests "
        f"({steady / 600:.3f}x), max in any 60 s window {max(windows)}, 429s {stats['statuses'].get('429', 0)}"
    )
    assert max(windows) <= 600
