"""`batchgate serve` and the real-time simulator as separate processes, driven with the openai SDK.

What a user runs: a config file, `batchgate serve --config` (embedded worker; or `serve --no-worker` plus
`batchgate worker`), the upstream elsewhere. Figures come from the SDK's view (create to terminal) and
from the simulator's record of when each request arrived (`GET /_stats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import openai

from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess

__all__ = ["BatchRun", "Gateway", "chat_lines", "load", "simulator", "upstream_stats"]

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"a": "sk-bench-tenant-a", "b": "sk-bench-tenant-b"}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


@contextlib.contextmanager
def simulator(*flags: str) -> Iterator[str]:
    """The simulator in its own process; `flags` are its CLI options (`--latency 0.03`, `--fail-429 0.05`)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.realtime_upstream", "--port", str(port), *flags]
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


def upstream_stats(base_url: str) -> dict[str, object]:
    stats: dict[str, object] = httpx.get(base_url.removesuffix("/v1") + "/_stats", timeout=30).json()
    return stats


def chat_lines(n: int, tag: str, **body: object) -> bytes:
    """`n` chat lines whose markers (`<tag>-<i>`) are unique, so the simulator can tell lines apart."""
    out = []
    for i in range(n):
        content = {"model": "m", "messages": [{"role": "user", "content": f"{tag}-{i}"}], "max_tokens": 8} | body
        out.append({"custom_id": f"{tag}{i}", "method": "POST", "url": "/v1/chat/completions", "body": content})
    return b"".join(msgspec.json.encode(line) + b"\n" for line in out)


class BatchRun(msgspec.Struct):
    batch_id: str
    status: str
    created: float  # monotonic, when the create call returned
    finished: float  # monotonic, when a GET first showed a terminal status
    created_at: float  # the same two moments in wall-clock time (to compare with the simulator's record)
    finished_at: float
    completed: int
    failed: int
    progress_gaps: float  # the longest wait between two GETs that showed different counts, seconds

    @property
    def seconds(self) -> float:
        return self.finished - self.created


class Gateway:
    """A config file and the gateway processes it runs (serve with its embedded worker, or split)."""

    def __init__(self, tmp: Path, redis_url: str, upstream: str, provider: str, model: str = "") -> None:
        self.port = free_port()
        self.tmp = tmp
        tenants = "".join(f'[[tenants]]\nname = "{name}"\napi_keys = ["{key}"]\n' for name, key in KEYS.items())
        self.config = tmp / "batchgate.toml"
        self.config.write_text(
            f'data_dir = "{tmp / "data"}"\n[redis]\nurl = "{redis_url}"\n{tenants}'
            f'[providers.local]\nkind = "native"\nbase_url = "{upstream}"\n{provider}\n'
            f'[[models]]\nname = "m"\nprovider = "local"\n{model}\n'
        )
        self.processes: list[BatchgateProcess] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, *, split: bool = False) -> Gateway:
        serve = ["serve", "--config", str(self.config), "--port", str(self.port)]
        self.processes.append(BatchgateProcess(serve + (["--no-worker"] if split else []), self.tmp / "serve.log"))
        if split:
            worker = ["worker", "--config", str(self.config), "--metrics-port", str(free_port())]
            self.processes.append(BatchgateProcess(worker, self.tmp / "worker.log"))
        for process in self.processes:
            process.start()
        self.processes[0].wait_http(f"http://127.0.0.1:{self.port}/readyz", timeout=60)
        return self

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.terminate(timeout=30)
            process.stop()

    def client(self, tenant: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=KEYS[tenant], max_retries=5)

    async def run_batch(self, tenant: str, data: bytes, *, poll: float = 0.05, deadline: float = 600) -> BatchRun:
        """Upload, create, then GET until terminal; the clock starts when the create returns."""
        async with self.client(tenant) as client:
            file = await client.files.create(file=("in.jsonl", data), purpose="batch")
            batch = await client.batches.create(
                input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            created, created_at = last_change, _ = time.monotonic(), time.time()
            gaps, seen = 0.0, (-1, -1)
            give_up = created + deadline
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                if time.monotonic() > give_up:
                    raise AssertionError(f"{batch.id} still {batch.status} after {deadline} s")
                await asyncio.sleep(poll)
                batch = await client.batches.retrieve(batch.id)
                counts = batch.request_counts
                now_counts = (counts.completed, counts.failed) if counts else (0, 0)
                if now_counts != seen and batch.status == "in_progress":
                    now = time.monotonic()
                    if seen != (-1, -1):
                        gaps = max(gaps, now - last_change)
                    seen, last_change = now_counts, now
            counts = batch.request_counts
            return BatchRun(
                batch.id, batch.status, created, time.monotonic(), created_at, time.time(),
                counts.completed if counts else 0, counts.failed if counts else 0, gaps,
            )  # fmt: skip
