"""A `batchgate worker` paused past its lease (SIGSTOP) while a second worker takes its batch over, then
resumed (SIGCONT): exactly one upstream batch, the batch ends once and correctly, every custom_id once, one
settlement. All from the outside: processes, the openai SDK, the batch-API simulator in its own process.

Worker A is paused inside its upload to the upstream (the simulator holds that request for a while), i.e.
after it looked for an earlier attempt's upstream batch and before it creates its own: the moment a
duplicate would be made. Without fencing, A wakes up and creates a second, unsupervised upstream batch.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.workflow import jsonl, line

LEASE_SECONDS = 2.0
UPLOAD_HANG_SECONDS = 4.0  # A's upload is answered while A is still stopped
PROVIDER = """
[batches]
lease_seconds = {lease}
[providers.deepseek]
kind = "openai_batch"
base_url = "{sim_url}"
api_key_env = "PAUSE_DEEPSEEK_KEY"
batch_discount = "0.5"
poll_interval_seconds = 0.2
[[models]]
name = "deepseek-chat"
provider = "deepseek"
input_usd_per_mtok = "0.28"
output_usd_per_mtok = "0.42"
"""


class Simulator:
    """The batch-API simulator as its own process, driven through its /_sim control surface."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "tests.support.batch_upstream", "--port", str(self.port), "--api-key", "sk-p"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=out)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/_sim/stats", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"the simulator did not start: {log.read_text()[-2000:]}")

    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = httpx.get(f"{self.url}/_sim/stats", timeout=5).json()
        return stats

    def fault(self, **fields: object) -> None:
        httpx.post(f"{self.url}/_sim/faults", json=fields, timeout=5).raise_for_status()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def setup(tmp_path: Path, redis_url: str) -> Iterator[tuple[Simulator, Path, dict[str, str]]]:
    sim = Simulator(tmp_path / "sim.log")
    config = tmp_path / "batchgate.toml"
    provider = PROVIDER.format(lease=LEASE_SECONDS, sim_url=f"{sim.url}/v1")
    config.write_text(base_config(tmp_path / "data", redis_url, admin=True) + provider)
    yield sim, config, {"PAUSE_DEEPSEEK_KEY": "sk-p"}
    sim.stop()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_worker_paused_past_its_lease_makes_no_second_upstream_batch(
    setup: tuple[Simulator, Path, dict[str, str]], tmp_path: Path
) -> None:
    sim, config, env = setup
    port = free_port()
    api = BatchgateProcess(
        ["serve", "--no-worker", "--config", str(config), "--port", str(port)], tmp_path / "api.log", env
    )
    worker_args = ["worker", "--config", str(config), "--metrics-port", "0"]
    first = BatchgateProcess(worker_args, tmp_path / "worker-a.log", env)
    second = BatchgateProcess(worker_args, tmp_path / "worker-b.log", env)
    processes = [api.start(), first.start()]
    try:
        api.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=TENANT_KEYS["alpha"], max_retries=0)
        sim.fault(route="upload", hang_seconds=UPLOAD_HANG_SECONDS, slow_only=True)
        ids = [f"p{i}" for i in range(6)]
        upload = sdk.files.create(
            file=("in.jsonl", jsonl([line(i, model="deepseek-chat") for i in ids])), purpose="batch"
        )
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")

        _wait(lambda: sim.stats()["calls"].get("upload", 0) >= 1, 20, "worker A's upload")
        assert first.process is not None
        first.process.send_signal(signal.SIGSTOP)
        paused_at = time.monotonic()
        processes.append(second.start())
        _wait(lambda: sdk.batches.retrieve(batch.id).status == "completed", 30, "worker B to complete the batch")
        taken_over = time.monotonic() - paused_at
        first.process.send_signal(signal.SIGCONT)

        def noticed() -> bool:
            return "lease_lost" in (tmp_path / "worker-a.log").read_text()

        _wait(lambda: noticed() or sim.stats()["calls"].get("create", 0) > 1, 15, "worker A's next move")
        time.sleep(1.0)  # anything A would still do, it does now

        stats = sim.stats()
        assert stats["calls"].get("create", 0) == 1, stats
        assert sum(stats["batches"].values()) == 1, stats
        done = sdk.batches.retrieve(batch.id)
        assert done.status == "completed"
        seen = []
        for file_id in (done.output_file_id, done.error_file_id):
            if file_id:
                seen += [json.loads(x)["custom_id"] for x in sdk.files.content(file_id).text.splitlines()]
        assert sorted(seen) == sorted(ids)
        headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
        ledger = httpx.get(f"http://127.0.0.1:{port}/v1/accounting/batches", headers=headers).json()["data"]
        assert [item["batch_id"] for item in ledger] == [batch.id]
        assert done.usage is not None
        assert ledger[0]["input_tokens"] == done.usage.input_tokens
        assert first.process.poll() is None, "worker A carries on with other work"
        print(
            f"\npaused A -> B completed the batch in {taken_over:.1f} s; upstream creates: {stats['calls']['create']}"
        )
        sdk.close()
    finally:
        if first.process is not None and first.process.poll() is None:
            first.process.send_signal(signal.SIGCONT)
        for process in processes:
            process.stop()
