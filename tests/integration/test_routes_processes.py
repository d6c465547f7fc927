"""Fallback routes with everything as its own process: `batchgate serve` and `batchgate worker`, the DeepSeek-
flavoured batch API and the real-time API simulators, the official SDK as the client.

The slow case kills a worker in the middle of a hand-over (reading the first route's results) and pauses
another past its lease there: the next holder finishes the hand-over, and every line ends exactly once, the
unfinished ones run on the second route exactly once.
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
import msgspec
import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.batch_upstream import DEEPSEEK, Fault
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.workflow import jsonl, line

ENV = {"RP_DEEPSEEK_KEY": "sk-rp-ds", "RP_REALTIME_KEY": "sk-rp-rt"}
ROUTES = """
[batches]
lease_seconds = {lease}
[providers.deepseek]
kind = "openai_batch"
base_url = "{batch_url}/v1"
api_key_env = "RP_DEEPSEEK_KEY"
batch_discount = "0.5"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.2
retry_base_seconds = 0.01
[providers.deepseek-realtime]
kind = "native"
base_url = "{realtime_url}/v1"
api_key_env = "RP_REALTIME_KEY"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.2
[[models]]
name = "deepseek-chat"
provider = "deepseek"
input_usd_per_mtok = "0.28"
cached_input_usd_per_mtok = "0.028"
output_usd_per_mtok = "0.42"
[[models]]
name = "deepseek-chat"
provider = "deepseek-realtime"
upstream_model = "deepseek-v4-flash"
input_usd_per_mtok = "0.14"
cached_input_usd_per_mtok = "0.028"
output_usd_per_mtok = "0.28"
"""


class Simulator:
    """A simulator as its own process; `control` is its base URL for the test's own calls."""

    def __init__(self, module: str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", module, "--port", str(self.port), *extra]
        with log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=out)

    def wait(self, path: str) -> Simulator:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}{path}", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"simulator on {self.url} did not start")

    def get(self, path: str) -> dict[str, object]:
        answer: dict[str, object] = httpx.get(f"{self.url}{path}", timeout=5).json()
        return answer

    def post(self, path: str, body: object) -> None:
        httpx.post(f"{self.url}{path}", content=msgspec.json.encode(body), timeout=5).raise_for_status()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


class World:
    def __init__(self, tmp_path: Path, redis_url: str, lease: float) -> None:
        self.tmp_path = tmp_path
        self.batch_api = Simulator("tests.support.batch_upstream", tmp_path / "batch.log",
                                   "--api-key", ENV["RP_DEEPSEEK_KEY"]).wait("/_sim/stats")  # fmt: skip
        self.realtime = Simulator("tests.support.realtime_upstream", tmp_path / "rt.log").wait("/_stats")
        self.config = tmp_path / "batchgate.toml"
        routes = ROUTES.format(lease=lease, batch_url=self.batch_api.url, realtime_url=self.realtime.url)
        self.config.write_text(base_config(tmp_path / "data", redis_url, admin=True) + routes)
        self.port = free_port()
        self.processes: list[BatchgateProcess] = []

    def options(self, **changes: object) -> None:
        self.batch_api.post(
            "/_sim/options", msgspec.structs.replace(DEEPSEEK, api_key=ENV["RP_DEEPSEEK_KEY"], **changes)
        )

    def start(self, *args: str, name: str) -> BatchgateProcess:
        process = BatchgateProcess([*args, "--config", str(self.config)], self.tmp_path / f"{name}.log", ENV)
        self.processes.append(process.start())
        return process

    def serve(self, *, worker: bool) -> None:
        flags = [] if worker else ["--no-worker"]
        api = self.start("serve", *flags, "--port", str(self.port), name="api")
        api.wait_http(f"http://127.0.0.1:{self.port}/readyz", timeout=60)

    def worker(self, name: str) -> BatchgateProcess:
        return self.start("worker", "--metrics-port", "0", name=name)

    def sdk(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=TENANT_KEYS["alpha"], max_retries=3)

    def ledger(self, batch_id: str) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.port}/v1/accounting/batches/{batch_id}"
        record: dict[str, object] = httpx.get(url, headers={"authorization": f"Bearer {TENANT_KEYS['alpha']}"}).json()
        return record

    def realtime_served(self) -> int:
        statuses = self.realtime.get("/_stats")["statuses"]
        assert isinstance(statuses, dict)
        return int(statuses.get("200", 0))

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.batch_api.stop()
        self.realtime.stop()


@pytest.fixture
def world(tmp_path: Path, redis_url: str) -> Iterator[World]:
    world = World(tmp_path, redis_url, lease=2.0)
    yield world
    world.stop()


def _submit(sdk: openai.OpenAI, ids: list[str]) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i, model="deepseek-chat") for i in ids])), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _ended(sdk: openai.OpenAI, batch_id: str, timeout: float) -> openai.types.Batch:
    _until(lambda: sdk.batches.retrieve(batch_id).status in ("completed", "failed", "expired", "cancelled"),
           timeout, f"batch {batch_id} to end")  # fmt: skip
    return sdk.batches.retrieve(batch_id)


def _custom_ids(sdk: openai.OpenAI, batch: openai.types.Batch) -> list[str]:
    ids = []
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id is not None:
            ids += [json.loads(row)["custom_id"] for row in sdk.files.content(file_id).text.splitlines()]
    return ids


def test_processes_fall_back_from_a_missing_batch_api_to_the_realtime_api(world: World) -> None:
    world.options(batch_api_status=404)
    world.serve(worker=False)
    world.worker("w1")
    ids = [f"f{i}" for i in range(30)]
    with world.sdk() as sdk:
        started = time.monotonic()
        done = _ended(sdk, _submit(sdk, ids), 60)
        print(f"\nprocesses, 404 -> realtime, {len(ids)} lines: {time.monotonic() - started:.2f} s")
        assert done.status == "completed", done.errors
        assert sorted(_custom_ids(sdk, done)) == sorted(ids)
    assert world.realtime_served() == len(ids)
    calls = world.batch_api.get("/_sim/stats")["calls"]
    assert isinstance(calls, dict)
    assert calls.get("create", 0) == 0
    record = world.ledger(done.id)
    assert record["provider"] == "deepseek-realtime"
    routes = record["routes"]
    assert isinstance(routes, list)
    assert [(r["provider"], r["requests"]) for r in routes] == [("deepseek", 0), ("deepseek-realtime", len(ids))]


@pytest.mark.slow
def test_a_hand_over_cut_by_sigkill_and_by_a_pause_is_finished_once_by_the_next_holder(world: World) -> None:
    ids = [f"k{i:02d}" for i in range(40)]
    unfinished = len(ids) - int(len(ids) * 0.75)
    world.options(expire=True, expire_fraction=0.75)
    # The first route's results are read by the hand-over: each read hangs a while, so workers are caught inside it.
    world.batch_api.post("/_sim/faults", Fault(route="content", count=2, hang_seconds=6.0, slow_only=True))
    world.serve(worker=False)
    victim = world.worker("victim")
    with world.sdk() as sdk:
        batch_id = _submit(sdk, ids)
        _until(lambda: _content_reads(world) >= 1, 30, "the victim's hand-over to read the first route's results")
        victim.kill()  # SIGKILL mid hand-over
        paused = world.worker("paused")
        _until(lambda: _content_reads(world) >= 2, 30, "the second worker's hand-over")
        assert paused.process is not None
        paused.process.send_signal(signal.SIGSTOP)  # past its lease, inside the hand-over
        world.worker("finisher")
        done = _ended(sdk, batch_id, 90)
        paused.process.send_signal(signal.SIGCONT)
        time.sleep(8.0)  # the paused worker's hang ends: whatever it still does, it does now
        assert done.status == "completed", done.errors
        assert sorted(_custom_ids(sdk, done)) == sorted(ids)  # every line exactly once
        assert sorted(_custom_ids(sdk, sdk.batches.retrieve(batch_id))) == sorted(ids)
    assert world.realtime_served() == unfinished  # the unfinished lines ran on the second route, once
    routes = world.ledger(batch_id)["routes"]
    assert isinstance(routes, list)
    assert [(r["provider"], r["requests"]) for r in routes] == [
        ("deepseek", len(ids) - unfinished),
        ("deepseek-realtime", unfinished),
    ]
    paused_log = (world.tmp_path / "paused.log").read_text()
    assert "batch_route_handed_over" not in paused_log  # fenced out: its hand-over never landed


def _content_reads(world: World) -> int:
    calls = world.batch_api.get("/_sim/stats")["calls"]
    assert isinstance(calls, dict)
    return int(calls.get("content", 0))
