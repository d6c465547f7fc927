"""Scale-out on one machine: two API replicas and two workers (separate `batchgate` processes) on one Redis
and one storage (a shared local directory, or a bucket on an S3-compatible server), batches on a simulated
DeepSeek upstream and on the native executor.

A worker is SIGKILLed mid-run and replaced; another gets SIGTERM and must exit cleanly. Every batch still
completes with every custom_id exactly once, one upstream batch per gateway batch, and one settlement.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.integration.storage.s3_server import S3Server
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line

CONFIG = """
data_dir = "{data_dir}"
[redis]
url = "{redis_url}"
[storage]
url = "{storage_url}"
[batches]
lease_seconds = 2.0
[[tenants]]
name = "alpha"
api_keys = ["{alpha_key}"]
admin = true
[providers.deepseek]
kind = "openai_batch"
base_url = "{deepseek_url}"
api_key_env = "MP_DEEPSEEK_KEY"
batch_discount = "0.5"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.3
[providers.local]
kind = "native"
base_url = "{local_url}"
api_key_env = "MP_LOCAL_KEY"
max_concurrency = 8
max_attempts = 3
poll_interval_seconds = 0.3
reclaim_idle_seconds = 2.0
[[models]]
name = "deepseek-chat"
provider = "deepseek"
input_usd_per_mtok = "0.28"
output_usd_per_mtok = "0.42"
[[models]]
name = "local-model"
provider = "local"
input_usd_per_mtok = "0.1"
output_usd_per_mtok = "0.2"
"""


@pytest.fixture
def upstreams() -> Iterator[tuple[BatchUpstream, RealtimeUpstream]]:
    deepseek = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key="sk-mp-ds", in_progress_seconds=3.0))
    deepseek.start()
    local = RealtimeUpstream(latency=0.05).start()
    yield deepseek, local
    deepseek.stop()
    local.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    """The shared storage: a local directory, or a bucket on the S3-compatible test server."""
    if request.param == "local":
        return "", {}
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = f"mp-{uuid.uuid4().hex[:10]}"
    server.client().create_bucket(Bucket=bucket)
    return f"s3://{bucket}/batchgate", server.environ


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_url: str,
    upstreams: tuple[BatchUpstream, RealtimeUpstream],
    storage: tuple[str, dict[str, str]],
) -> Iterator[dict[str, object]]:
    deepseek, local = upstreams
    storage_url, storage_env = storage
    config = tmp_path / "batchgate.toml"
    config.write_text(
        CONFIG.format(
            data_dir=tmp_path / "data",
            storage_url=storage_url,
            redis_url=redis_url,
            alpha_key=TENANT_KEYS["alpha"],
            deepseek_url=deepseek.base_url,
            local_url=local.base_url,
        )
    )
    env = {"MP_DEEPSEEK_KEY": "sk-mp-ds", "MP_LOCAL_KEY": "sk-mp-local", **storage_env}
    processes: list[BatchgateProcess] = []

    def spawn(kind: str, index: int) -> BatchgateProcess:
        if kind == "api":
            port = free_port()
            args = ["serve", "--no-worker", "--config", str(config), "--port", str(port)]
            process = BatchgateProcess(args, tmp_path / f"api-{index}.log", env).start()
            process.wait_http(f"http://127.0.0.1:{port}/readyz")
            process.base_url = f"http://127.0.0.1:{port}/v1"  # type: ignore[attr-defined]
        else:
            args = ["worker", "--config", str(config), "--metrics-port", "0"]
            process = BatchgateProcess(args, tmp_path / f"worker-{index}.log", env).start()
        processes.append(process)
        return process

    yield {"spawn": spawn, "logs": tmp_path}
    for process in processes:
        process.stop()


def wait_terminal(sdk: openai.OpenAI, batch_id: str, timeout: float = 60) -> openai.types.Batch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in {"completed", "failed", "expired", "cancelled"}:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"{batch_id} is still {batch.status}")


def custom_ids(sdk: openai.OpenAI, batch: openai.types.Batch) -> list[str]:
    ids = []
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            ids += [json.loads(x)["custom_id"] for x in sdk.files.content(file_id).text.splitlines()]
    return sorted(ids)


def test_replicas_and_workers_survive_kill_and_term(
    cluster: dict[str, object], upstreams: tuple[BatchUpstream, RealtimeUpstream]
) -> None:
    spawn = cluster["spawn"]
    api_one, api_two = spawn("api", 1), spawn("api", 2)  # type: ignore[operator]
    workers = [spawn("worker", 1), spawn("worker", 2)]  # type: ignore[operator]
    one = openai.OpenAI(base_url=api_one.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)
    two = openai.OpenAI(base_url=api_two.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)

    plans = {"deepseek-chat": [f"d{i}" for i in range(30)], "local-model": [f"n{i}" for i in range(300)]}
    batch_ids = {}
    for model, ids in plans.items():
        upload = one.files.create(file=("in.jsonl", jsonl([line(i, model=model) for i in ids])), purpose="batch")
        batch = two.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        batch_ids[model] = batch.id

    deadline = time.monotonic() + 20
    while one.batches.retrieve(batch_ids["local-model"]).status != "in_progress" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the native executor get into the lines
    workers[0].kill()
    workers.append(spawn("worker", 3))  # type: ignore[operator]
    assert workers[1].terminate() == 0, "SIGTERM must drain and exit cleanly"

    for model, ids in plans.items():
        done = wait_terminal(one if model == "local-model" else two, batch_ids[model])
        assert done.status == "completed", (model, done.errors)
        assert custom_ids(two, done) == sorted(ids)

    deepseek, local = upstreams
    assert len(deepseek.store.batches) == 1, "one gateway batch must be one upstream batch"
    sent = Counter(request.body["messages"][-1]["content"] for request in local.requests)
    assert len(sent) == len(plans["local-model"])
    assert max(sent.values()) <= 3, "never more than max_attempts sends of one line"
    # Only lines the killed worker had sent without their outcome reaching Redis may have been sent twice: its
    # requests in flight (at most max_concurrency, 8) and the answered ones whose outcome was still queued for
    # the ledger's next round trip (a few at this rate).
    assert sum(sent.values()) - len(sent) <= 2 * 8

    # Settlement follows the terminal status in the same worker step: wait for it, then expect one each.
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    deadline = time.monotonic() + 20
    while True:
        ledger = httpx.get(f"{api_two.base_url}/accounting/batches", headers=headers, params={"limit": 10}).json()
        settled = sorted(item["batch_id"] for item in ledger["data"])
        if len(settled) >= len(batch_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert settled == sorted(batch_ids.values())
    one.close()
    two.close()
