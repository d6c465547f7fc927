"""Webhook delivery survives restarts: `batchgate serve --no-worker` and `batchgate worker` as processes, a
native batch on the real-time simulator, a receiver answering 500 three times per delivery. Both processes are
SIGKILLed right after the first failed attempt; the restarted pair finishes the retry schedule from Redis.

Marked slow: four `batchgate` process starts take 30+ s on the shared 2-core machine. The default suite has
the in-process variant (test_webhooks_sdk.py: a graceful restart of the gateway with its embedded worker)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.workflow import jsonl, line, wait_for

SECTIONS = """
[batches]
lease_seconds = 2.0
[webhooks]
allowed_hosts = ["127.0.0.1"]
first_retry_seconds = 0.5
max_retry_seconds = 0.5
timeout_seconds = 2
[providers.local]
kind = "native"
base_url = "{local_url}"
api_key_env = "WH_LOCAL_KEY"
poll_interval_seconds = 0.2
[[models]]
name = "local-model"
provider = "local"
input_usd_per_mtok = "0.1"
output_usd_per_mtok = "0.2"
"""


@pytest.fixture
def config(tmp_path: Path, redis_url: str) -> Iterator[Path]:
    with RealtimeUpstream() as local:
        path = tmp_path / "batchgate.toml"
        path.write_text(base_config(tmp_path / "data", redis_url) + SECTIONS.format(local_url=local.base_url))
        yield path


class Pair:
    """An API process and a worker process on one config."""

    def __init__(self, config: Path, logs: Path, generation: int) -> None:
        self.port = free_port()
        env = {"WH_LOCAL_KEY": "sk-local"}
        api_args = ["serve", "--no-worker", "--config", str(config), "--port", str(self.port)]
        self.api = BatchgateProcess(api_args, logs / f"api-{generation}.log", env).start()
        worker_args = ["worker", "--config", str(config), "--metrics-port", "0"]
        self.worker = BatchgateProcess(worker_args, logs / f"worker-{generation}.log", env).start()
        self.api.wait_http(f"http://127.0.0.1:{self.port}/readyz", timeout=90)  # a loaded machine starts slowly

    def sdk(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=TENANT_KEYS["alpha"], max_retries=0)

    def kill(self) -> None:
        self.api.kill()
        self.worker.kill()

    def stop(self) -> None:
        self.api.stop()
        self.worker.stop()


@pytest.mark.slow
def test_delivery_continues_after_gateway_and_worker_restart(config: Path, tmp_path: Path) -> None:
    with WebhookReceiver(fail_first=3) as receiver:
        first = Pair(config, tmp_path, 1)
        try:
            sdk = first.sdk()
            endpoint = sdk.webhooks.create(name="ops", url=receiver.url, event_types=["batch.completed"])
            upload = sdk.files.create(
                file=("in.jsonl", jsonl([line(f"r{i}", model="local-model") for i in range(3)])), purpose="batch"
            )
            batch = sdk.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            wait_for(sdk, batch.id, {"completed"}, timeout=30)
            deadline = time.monotonic() + 20
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.02)
            assert [r.status for r in receiver.received] == [500]
            time.sleep(0.2)  # let the worker record the failed attempt before it dies
        finally:
            first.kill()
        killed_at = time.time()

        second = Pair(config, tmp_path, 2)
        try:
            [delivered] = receiver.wait_delivered(1, timeout=40)
            time.sleep(1.5)  # three more retry intervals: a duplicate would show
        finally:
            second.stop()
    print("attempts, seconds after the kill:", [(r.status, round(r.at - killed_at, 2)) for r in receiver.received])
    assert [r.status for r in receiver.received] == [500, 500, 500, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert sum(r.at > killed_at for r in receiver.received) >= 2, "the restarted worker carried the schedule on"
    event = second.sdk().webhooks.unwrap(delivered.body, delivered.headers, secret=endpoint.signing_secret)
    assert (event.type, event.data.id) == ("batch.completed", batch.id)


@pytest.mark.slow
def test_many_batches_two_workers_one_killed(config: Path, tmp_path: Path) -> None:
    """Thirty batches, two workers sharing the queue, one SIGKILLed and the API restarted mid-schedule: every
    batch's event reaches the receiver verified, once with a 2xx, after its three 500s. Prints the figures."""
    batches = 30
    env = {"WH_LOCAL_KEY": "sk-local"}
    with WebhookReceiver(fail_first=3) as receiver:
        first = Pair(config, tmp_path, 1)
        extra = BatchgateProcess(
            ["worker", "--config", str(config), "--metrics-port", "0"], tmp_path / "worker-extra.log", env
        ).start()
        second: Pair | None = None
        try:
            sdk = first.sdk()
            endpoint = sdk.webhooks.create(name="ops", url=receiver.url, event_types=["batch.completed"])
            ids = []
            for index in range(batches):
                content = jsonl([line(f"b{index}-{i}", model="local-model") for i in range(5)])
                upload = sdk.files.create(file=("in.jsonl", content), purpose="batch")
                ids.append(
                    sdk.batches.create(
                        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
                    ).id
                )
            deadline = time.monotonic() + 60
            while len(receiver.received) < batches and time.monotonic() < deadline:
                time.sleep(0.05)
            first.kill()  # the API and one worker die; the extra worker goes on alone for a while
            killed_at = time.time()
            second = Pair(config, tmp_path, 2)
            delivered = receiver.wait_delivered(batches, timeout=120)
            time.sleep(2.0)
            finished = {b: second.sdk().batches.retrieve(b).completed_at for b in ids}
        finally:
            first.stop()
            extra.stop()
            if second is not None:
                second.stop()
    events = [second.sdk().webhooks.unwrap(r.body, r.headers, secret=endpoint.signing_secret) for r in delivered]
    assert sorted(e.data.id for e in events) == sorted(ids), "one 2xx delivery per batch, no duplicate"
    attempts = Counter(r.headers["webhook-id"] for r in receiver.received)
    latency = sorted(r.at - (finished[e.data.id] or 0) for r, e in zip(delivered, events, strict=True))
    after_kill = sum(r.at > killed_at for r in receiver.received)
    print(
        f"\nwebhooks, {batches} batches, receiver 500 x3 then 200, first_retry=max_retry=0.5 s\n"
        f"| deliveries 2xx | attempts per delivery | attempts after the kill | event after completed_at p50 / max |\n"
        f"| {len(delivered)} | {sorted(set(attempts.values()))} | {after_kill} | "
        f"{latency[len(latency) // 2]:.1f} s / {latency[-1]:.1f} s |"
    )
    assert set(attempts.values()) == {4}
