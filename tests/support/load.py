"""A small open-loop HTTP load driver (aiohttp) and an RSS sampler, for `tests/benchmarks/test_load.py`.

Open loop: each stream sends at its own fixed rate whatever the answers' latency, and a request's latency is
measured from the moment it was *due*, so a stalled server shows up in p99 instead of silently slowing the
driver (no coordinated omission). `closed_loop` measures the most requests/s N concurrent callers get.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

__all__ = [
    "RssSampler",
    "Stream",
    "StreamResult",
    "closed_loop",
    "cpu_seconds",
    "open_loop",
    "percentile",
    "rss_kib",
]

Send = Callable[[aiohttp.ClientSession], Awaitable[int]]


@dataclass
class Stream:
    """One kind of request sent `rate` times a second; `send` returns the HTTP status."""

    name: str
    rate: float
    send: Send


@dataclass
class StreamResult:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    causes: Counter[str] = field(default_factory=Counter)  # status codes and exception names of the errors

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _timed(session: aiohttp.ClientSession, stream: Stream, due: float, result: StreamResult) -> None:
    cause = ""
    try:
        status = await stream.send(session)
        cause = str(status)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        status, cause = 0, type(exc).__name__
    result.latencies.append(time.perf_counter() - due)
    if not 200 <= status < 300:
        result.errors += 1
        result.causes[cause] += 1


async def _drive(session: aiohttp.ClientSession, stream: Stream, seconds: float, result: StreamResult) -> None:
    start = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    for index in itertools.count():
        due = start + index / stream.rate
        if due - start >= seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(_timed(session, stream, due, result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)


async def open_loop(streams: Sequence[Stream], seconds: float, connections: int = 256) -> list[StreamResult]:
    """Run every stream for `seconds` at its rate, concurrently; one result per stream."""
    results = [StreamResult(stream.name, seconds) for stream in streams]
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(_drive(session, s, seconds, r) for s, r in zip(streams, results, strict=True)))
    return results


async def closed_loop(name: str, sends: Sequence[Send], seconds: float, callers: int) -> StreamResult:
    """`callers` loops, each sending back to back (cycling through `sends`) for `seconds`: the saturated rate."""
    result = StreamResult(name, seconds)
    deadline = time.perf_counter() + seconds

    async def caller(session: aiohttp.ClientSession, offset: int) -> None:
        for send in itertools.islice(itertools.cycle(sends), offset, None):
            if time.perf_counter() >= deadline:
                return
            stream = Stream(name, 0, send)
            await _timed(session, stream, time.perf_counter(), result)

    connector = aiohttp.TCPConnector(limit=callers)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(caller(session, index) for index in range(callers)))
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used, from /proc/<pid>/stat (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


class RssSampler:
    """Samples a process's RSS every `interval` seconds on a thread, as (seconds since start, KiB)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.monotonic()
        while True:
            self.samples.append((time.monotonic() - start, rss_kib(self.pid)))
            if self._stop.wait(self.interval):
                return
