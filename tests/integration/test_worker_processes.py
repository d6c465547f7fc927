"""Several `batchgate worker` processes on one host, with default settings: metrics ports, a busy port, and
how fast a SIGKILLed worker's batch claim and native chunks are taken over (printed; must be under 10 s)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import openai
import pytest
import redis

from gateway.ops.liveness import TICK_GAUGE
from gateway.ops.metrics_port import DEFAULT_PORTS
from gateway.redis import keys
from providers import keys as provider_keys
from tests.conftest import TENANT_KEYS
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream, Fault
from tests.support.gateway_server import GatewayServer
from tests.support.processes import BATCHGATE, BatchgateProcess, base_config
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.redis_server import RedisServer
from tests.support.workflow import jsonl, line, wait_for

TAKE_OVER_BOUND_SECONDS = 10.0
ENV = {"WP_DEEPSEEK_KEY": "sk-wp-ds", "WP_LOCAL_KEY": "sk-wp-local"}
PROVIDERS = """
[providers.deepseek]
kind = "openai_batch"
base_url = "{deepseek_url}"
api_key_env = "WP_DEEPSEEK_KEY"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.3
request_timeout_seconds = 60
[providers.local]
kind = "native"
base_url = "{local_url}"
api_key_env = "WP_LOCAL_KEY"
max_concurrency = 4
poll_interval_seconds = 0.3
[[models]]
name = "deepseek-chat"
provider = "deepseek"
[[models]]
name = "local-model"
provider = "local"
"""


@pytest.fixture
def world(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, object]]:
    """Default lease and reclaim settings (none given in the config), a simulated DeepSeek and real-time API."""
    deepseek = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key=ENV["WP_DEEPSEEK_KEY"], in_progress_seconds=1))
    deepseek.start()
    local = RealtimeUpstream(latency=0.25).start()
    config = tmp_path / "batchgate.toml"
    config.write_text(
        base_config(tmp_path / "data", redis_server.url, admin=True)
        + PROVIDERS.format(deepseek_url=deepseek.base_url, local_url=local.base_url)
    )
    from gateway.config.settings import load_settings

    api = GatewayServer(load_settings(str(config)))
    api.start()
    workers: list[BatchgateProcess] = []

    def spawn(name: str, *extra: str) -> BatchgateProcess:
        process = BatchgateProcess(["worker", "--config", str(config), *extra], tmp_path / f"{name}.log", ENV)
        workers.append(process.start())
        return process

    sdk = openai.OpenAI(base_url=api.base_url, api_key=TENANT_KEYS["alpha"], max_retries=3)
    yield {"spawn": spawn, "sdk": sdk, "config": config, "deepseek": deepseek, "redis": redis_server}
    for process in workers:
        process.stop()
    api.stop()
    local.stop()
    deepseek.stop()


def _chosen_port(process: BatchgateProcess, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for row in process.log_path.read_text().splitlines():
            if '"worker_metrics_port"' in row:
                return int(json.loads(row)["port"])
        assert process.process is not None
        assert process.process.poll() is None, process.log_path.read_text()[-2000:]
        time.sleep(0.1)
    raise AssertionError(f"no worker_metrics_port line:\n{process.log_path.read_text()[-2000:]}")


def _create(sdk: openai.OpenAI, ids: list[str], model: str) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i, model=model) for i in ids])), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id


@pytest.mark.slow
def test_two_default_workers_on_one_host_both_run_and_one_killed_leaves_the_other_working(
    world: dict[str, object],
) -> None:
    spawn, sdk = world["spawn"], world["sdk"]
    first, second = spawn("w1"), spawn("w2")  # type: ignore[operator]
    ports = {_chosen_port(first), _chosen_port(second)}
    assert len(ports) == 2
    assert ports <= set(DEFAULT_PORTS)
    for port in ports:  # bound at start; the gauge follows once the loop goes round
        deadline = time.monotonic() + 20
        while TICK_GAUGE not in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    first.kill()
    done = wait_for(sdk, _create(sdk, ["a", "b", "c"], "local-model"), {"completed", "failed"}, timeout=30)  # type: ignore[arg-type]
    assert done.status == "completed"


def test_an_explicit_busy_metrics_port_fails_at_start_with_one_line_and_exit_2(world: dict[str, object]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [str(BATCHGATE), "worker", "--config", str(world["config"]), "--metrics-port", str(port)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**ENV, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [row for row in result.stderr.splitlines() if row.strip()]
    assert errors == [
        f"batchgate worker: metrics port 127.0.0.1:{port} is already in use; pass another --metrics-port, "
        "or leave it out to take the first free port of 9464-9473"
    ]


def _claim_token(client: redis.Redis, batch_id: str) -> bytes | None:
    token = client.hget(keys.work_claims(), batch_id)
    return token if isinstance(token, bytes) else None


def _pending_owners(client: redis.Redis) -> set[str]:
    try:
        rows = client.xpending_range(provider_keys.native_stream("local"), provider_keys.NATIVE_GROUP, "-", "+", 100)
    except redis.ResponseError:  # no consumer group yet: the first worker creates it as it starts
        return set()
    return {row["consumer"].decode() for row in rows}


@pytest.mark.slow
def test_a_sigkilled_workers_claim_and_chunks_are_taken_over_within_10_seconds(world: dict[str, object]) -> None:
    spawn, sdk, deepseek = world["spawn"], world["sdk"], world["deepseek"]
    client = redis.Redis(port=world["redis"].port)  # type: ignore[attr-defined]
    victim = spawn("victim")  # type: ignore[operator]
    _chosen_port(victim)
    # A poll that hangs: the victim's step holds the batch's claim, renewing it, when it is killed.
    deepseek.add_fault(Fault(route="retrieve", hang_seconds=60))  # type: ignore[attr-defined]
    upstream_batch = _create(sdk, ["u1", "u2"], "deepseek-chat")  # type: ignore[arg-type]
    native_batch = _create(sdk, [f"n{i}" for i in range(600)], "local-model")  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    victim_pid = f"-{victim.process.pid}-"  # type: ignore[union-attr]
    while time.monotonic() < deadline:
        held = _claim_token(client, upstream_batch)
        owners = _pending_owners(client)
        if held is not None and owners and all(victim_pid in owner for owner in owners):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the victim never held both: claim {held!r}, chunk owners {owners}")
    survivor = spawn("survivor")  # type: ignore[operator]
    _chosen_port(survivor)  # up and claiming (it finds nothing free: the victim holds it all)
    time.sleep(1.0)
    held = _claim_token(client, upstream_batch)
    victim.kill()
    killed = time.monotonic()
    claim_taken = chunks_taken = None
    while (claim_taken is None or chunks_taken is None) and time.monotonic() - killed < 30:
        now = time.monotonic() - killed
        if claim_taken is None and _claim_token(client, upstream_batch) not in (held, None):
            claim_taken = now
        owners = _pending_owners(client)
        if chunks_taken is None and owners and not any(victim_pid in owner for owner in owners):
            chunks_taken = now
        time.sleep(0.05)
    print(f"\ntake-over after SIGKILL: batch claim {claim_taken} s, native chunks {chunks_taken} s")
    assert claim_taken is not None
    assert claim_taken < TAKE_OVER_BOUND_SECONDS
    assert chunks_taken is not None
    assert chunks_taken < TAKE_OVER_BOUND_SECONDS
    for batch_id in (upstream_batch, native_batch):
        assert wait_for(sdk, batch_id, {"completed", "failed"}, timeout=120).status == "completed"  # type: ignore[arg-type]
    assert re.search(r"worker_metrics_port", survivor.log_path.read_text())
    client.close()
