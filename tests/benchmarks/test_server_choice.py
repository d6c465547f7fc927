"""Which ASGI server runs the gateway: uvicorn (uvloop + httptools) or granian, measured on the same app.

Each server runs the gateway in its own process (one worker, no embedded batch worker) and is driven
flat out by 32 callers retrieving a batch, then at a fixed 500 req/s; requests/s and latency are printed.

Measured here (2 cores, quiet): flat out uvicorn 1,242 req/s (p99 104 ms) vs granian 1,201 (p99 102 ms);
at 500 req/s p99 25 ms vs 31 ms. They tie, so batchgate serves with uvicorn: pure Python to install
everywhere, the ASGI reference, with the same speed here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.benchmarks.test_load import _get, _seed
from tests.support.load import Stream, closed_loop, open_loop
from tests.support.ports import free_port
from tests.support.processes import base_config

pytestmark = pytest.mark.benchmark
BIN = Path(sys.executable).parent
SECONDS = float(os.environ.get("SERVER_CHOICE_SECONDS", 8))


def _command(server: str, port: int) -> list[str]:
    factory = "tests.support.asgi_entry:app_factory"
    if server == "uvicorn":
        return [
            str(BIN / "uvicorn"),
            "--factory",
            factory,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return [str(BIN / "granian"), "--interface", "asgi", "--factory", "--port", str(port), "--loop", "uvloop",
            "--log-level", "warning", factory]  # fmt: skip


def _wait(root: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{root}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{root} did not become ready")


def test_uvicorn_versus_granian(tmp_path: Path, redis_url: str) -> None:
    config = tmp_path / "batchgate.toml"
    config.write_text(base_config(tmp_path / "data", redis_url, admin=True))
    env = {**os.environ, "BATCHGATE_CONFIG": str(config)}
    print(f"\n{'server':<9} {'flat-out req/s':>15} {'p50 ms':>8} {'p99 ms':>8} | {'@500/s p50':>10} {'p99 ms':>8}")
    for server in ("uvicorn", "granian"):
        port = free_port()
        process = subprocess.Popen(
            _command(server, port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            root = f"http://127.0.0.1:{port}"
            _wait(root)
            [batch_id] = _seed(root, batches=1)
            send = _get(f"{root}/v1/batches/{batch_id}")
            asyncio.run(closed_loop("warm-up", [send], 2, 32))
            flat = asyncio.run(closed_loop(server, [send], SECONDS, 32))
            [paced] = asyncio.run(open_loop([Stream(server, 500, send)], SECONDS))
            print(
                f"{server:<9} {flat.per_second:>15.0f} {flat.ms(0.5):>8.2f} {flat.ms(0.99):>8.2f} | "
                f"{paced.ms(0.5):>10.2f} {paced.ms(0.99):>8.2f}"
            )
            assert flat.error_rate == 0
            assert paced.error_rate == 0
        finally:
            process.terminate()
            process.wait(timeout=15)
