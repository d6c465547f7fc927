"""Redis down: the API answers a retryable 503 in OpenAI's envelope (never a bare 500), and recovers; a
`batchgate worker` process outlives the outage and finishes what it was doing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import load_settings
from gateway.ops.liveness import TICK_GAUGE
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.redis_server import RedisServer
from tests.support.schemas import assert_matches
from tests.support.workflow import jsonl, line, wait_for


def test_redis_outage_is_a_retryable_503_then_recovers(gateway: GatewayServer, redis_server: RedisServer) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    assert httpx.get(f"{gateway.base_url}/files", headers=headers).status_code == 200
    redis_server.kill()
    try:
        down = httpx.get(f"{gateway.base_url}/files", headers=headers, timeout=30)
        assert down.status_code == 503
        assert down.headers["retry-after"] == "1"
        assert_matches("ErrorResponse", down.json())
        assert httpx.get(f"{gateway.root_url}/readyz").status_code == 503
    finally:
        redis_server.start()
    assert httpx.get(f"{gateway.base_url}/files", headers=headers).status_code == 200


WORKER_CONFIG = """
[providers.local]
kind = "native"
base_url = "{local_url}"
api_key_env = "OUTAGE_LOCAL_KEY"
max_concurrency = 8
poll_interval_seconds = 0.3
[[models]]
name = "local-model"
provider = "local"
input_usd_per_mtok = "0.1"
output_usd_per_mtok = "0.2"
"""


def _tick(metrics_url: str) -> float | None:
    for family in text_string_to_metric_families(httpx.get(metrics_url, timeout=5).text):
        if family.name == TICK_GAUGE:
            return float(family.samples[0].value)
    return None


@pytest.mark.parametrize(
    "outage_seconds", [pytest.param(5.0, id="5s"), pytest.param(20.0, id="20s", marks=pytest.mark.slow)]
)
def test_a_worker_outlives_a_redis_outage_longer_than_the_clients_retries(
    outage_seconds: float, redis_server: RedisServer, tmp_path: Path, realtime: RealtimeUpstream
) -> None:
    """Redis goes away mid-run for longer than redis-py's own retries: the `batchgate worker` process stays
    up, logs one unavailable and one recovered line, and every batch — the one running through the outage
    and one created after it — completes."""
    realtime.latency = 0.05
    config = tmp_path / "batchgate.toml"
    config.write_text(
        base_config(tmp_path / "data", redis_server.url, admin=True) + WORKER_CONFIG.format(local_url=realtime.base_url)
    )
    settings = load_settings(str(config))
    metrics_port = free_port()
    worker_args = ["worker", "--config", str(config), "--metrics-port", str(metrics_port)]
    worker = BatchgateProcess(worker_args, tmp_path / "worker.log", {"OUTAGE_LOCAL_KEY": "sk-local"}).start()
    api = GatewayServer(settings)
    api.start()
    try:
        worker.wait_http(f"http://127.0.0.1:{metrics_port}/metrics")
        sdk = openai.OpenAI(base_url=api.base_url, api_key=TENANT_KEYS["alpha"], max_retries=5)
        before = _create(sdk, [f"b{i}" for i in range(60)])
        wait_for(sdk, before, {"in_progress"}, timeout=20)
        redis_server.kill()
        time.sleep(outage_seconds)
        assert worker.process is not None
        assert worker.process.poll() is None, worker.log_path.read_text()[-2000:]
        redis_server.start()
        after = _create(sdk, ["a1", "a2"])
        for batch_id, count in ((before, 60), (after, 2)):
            done = wait_for(sdk, batch_id, {"completed", "failed", "expired", "cancelled"}, timeout=60)
            assert done.status == "completed", done.errors
            assert done.request_counts is not None
            assert done.request_counts.completed == count
        tick = _tick(f"http://127.0.0.1:{metrics_port}/metrics")
        assert tick is not None
        assert time.time() - tick < 5
        log = worker.log_path.read_text()
        events = [record.get("event") for record in map(_json_or_empty, log.splitlines())]
        # One pair per outage, whatever else logged during it (a step failing with code redis_unavailable).
        assert events.count("redis_unavailable") == 1, log[-3000:]
        assert events.count("redis_recovered") == 1, log[-3000:]
        assert "Traceback" not in log
    finally:
        api.stop()
        worker.stop()


def _create(sdk: openai.OpenAI, ids: list[str]) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i, model="local-model") for i in ids])), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id


def _json_or_empty(text: str) -> dict[str, object]:
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}
