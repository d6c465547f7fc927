"""Native-executor throughput with 1, 2 and 4 `batchgate worker` processes against the zero-latency
real-time simulator (its own process), one `serve --no-worker` API, one Redis.

Prints lines/s per worker count and the scaling ratio to one worker. On a 2-core machine the simulator,
Redis, the API and the workers share two cores, so scaling beyond ~2× is not expected; the figures say
how close it comes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.workflow import jsonl, line

LINES = int(os.environ.get("SCALING_LINES", "4000"))
PROVIDERS = """
[providers.local]
kind = "native"
base_url = "http://127.0.0.1:{sim_port}/v1"
max_concurrency = 64
poll_interval_seconds = 0.2
[[models]]
name = "local-model"
provider = "local"
"""


def _run(tmp_path: Path, redis_url: str, sim_port: int, workers: int) -> float:
    run_dir = tmp_path / f"w{workers}"
    run_dir.mkdir()
    config = run_dir / "batchgate.toml"
    config.write_text(base_config(run_dir / "data", redis_url) + PROVIDERS.format(sim_port=sim_port))
    port = free_port()
    api = BatchgateProcess(["serve", "--no-worker", "--config", str(config), "--port", str(port)], run_dir / "api.log")
    processes = [api.start()]
    api.wait_http(f"http://127.0.0.1:{port}/readyz")
    for index in range(workers):
        args = ["worker", "--config", str(config), "--metrics-port", "0", "--log-level", "warning"]
        processes.append(BatchgateProcess(args, run_dir / f"worker-{index}.log").start())
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=TENANT_KEYS["alpha"], max_retries=0)
        lines = [line(f"r{i}", model="local-model") for i in range(LINES)]
        upload = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
        started = time.perf_counter()
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            time.sleep(0.1)
            batch = client.batches.retrieve(batch.id)
        elapsed = time.perf_counter() - started
        assert batch.status == "completed"
        assert batch.request_counts is not None
        assert batch.request_counts.completed == LINES
        client.close()
        return LINES / elapsed
    finally:
        for process in processes:
            process.stop()


@pytest.mark.benchmark
def test_native_throughput_scales_with_workers(tmp_path: Path, redis_url: str, redis_server: object) -> None:
    sim_port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "tests.support.realtime_upstream", "--port", str(sim_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    try:
        rates = {}
        for workers in (1, 2, 4):
            redis_server.flush()  # type: ignore[attr-defined]
            rates[workers] = _run(tmp_path, redis_url, sim_port, workers)
    finally:
        simulator.kill()
        simulator.wait()
    print(f"\nnative executor, {LINES} lines, zero-latency simulator, load {os.getloadavg()[0]:.1f}:")
    for workers, rate in rates.items():
        print(f"  {workers} worker(s): {rate:8.0f} lines/s  ({rate / rates[1]:.2f}x one worker)")
    assert all(rate > 0 for rate in rates.values())
