"""The SDK workflow on a real Redis Cluster and a real Sentinel-managed primary (the single node is every other test).

One gateway with its worker runs on the topology's `redis.url`: a batch on the openai_batch adapter (DeepSeek
simulator), one on the native executor (real-time simulator, RPM and TPM limits on so the pacing scripts run
too), and one cancelled mid-run; each batch is settled in the ledger exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, RedisSettings, Settings
from providers.config import NativeSettings, OpenAIBatchSettings, ProviderSettings
from tests.e2e.conftest import KEYS
from tests.e2e.test_accounting_api import get, settled_record
from tests.e2e.test_providers_sdk import assert_each_custom_id_once, result_lines, run, upstream_usage
from tests.support.batch_upstream import BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line, wait_for

PRICES = {"input_usd_per_mtok": Decimal("0.28"), "output_usd_per_mtok": Decimal("0.42")}


@pytest.fixture
def slow() -> Iterator[RealtimeUpstream]:
    with RealtimeUpstream(latency=0.3) as upstream:
        yield upstream


def _providers(
    deepseek: BatchUpstream, realtime: RealtimeUpstream, slow: RealtimeUpstream
) -> dict[str, ProviderSettings]:
    fast = {"poll_interval_seconds": 0.2}
    return {
        "deepseek": OpenAIBatchSettings(
            base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
            batch_discount=Decimal("0.5"), endpoints=["/v1/chat/completions"], **fast,  # type: ignore[arg-type]
        ),
        "local": NativeSettings(
            base_url=realtime.base_url, api_key_env="TEST_LOCAL_KEY",
            requests_per_minute=60_000, tokens_per_minute=50_000_000, **fast,  # type: ignore[arg-type]
        ),
        "slow": NativeSettings(
            base_url=slow.base_url, api_key_env="TEST_LOCAL_KEY", max_concurrency=1,
            **fast,  # type: ignore[arg-type]
        ),
    }  # fmt: skip


@pytest.fixture
def served(
    settings: Settings,
    topology_url: str,
    deepseek: BatchUpstream,
    realtime: RealtimeUpstream,
    slow: RealtimeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GatewayServer]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    models = [
        ModelRoute(name="deepseek-chat", provider="deepseek", **PRICES),
        ModelRoute(name="local-model", provider="local", upstream_model="tiny", **PRICES),
        ModelRoute(name="slow-model", provider="slow", upstream_model="tiny", **PRICES),
    ]
    on_topology = msgspec.structs.replace(
        settings,
        redis=RedisSettings(url=topology_url),
        providers=_providers(deepseek, realtime, slow),
        models=models,
    )
    server = GatewayServer(on_topology, run_worker=True)
    server.start()
    yield server
    server.stop()


def _cancel_mid_run(sdk: openai.OpenAI, ids: list[str]) -> openai.types.Batch:
    upload = sdk.files.create(file=("slow.jsonl", jsonl([line(i, model="slow-model") for i in ids])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    deadline = time.monotonic() + 20
    while (counts := sdk.batches.retrieve(batch.id).request_counts) is None or counts.completed == 0:
        assert time.monotonic() < deadline, "no line of the slow batch finished"
        time.sleep(0.05)
    assert sdk.batches.cancel(batch.id).status in {"cancelling", "cancelled"}
    return wait_for(sdk, batch.id, {"cancelled"})


def test_sdk_workflow_and_exactly_once_settlement(
    sdk: openai.OpenAI, served: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    upstream_ids = [f"d{i}" for i in range(6)]
    upstream_batch = run(sdk, [line(i, model="deepseek-chat") for i in upstream_ids], "/v1/chat/completions")
    assert_each_custom_id_once(sdk, upstream_batch, upstream_ids)
    assert upstream_batch.usage is not None
    assert upstream_batch.usage.input_tokens == upstream_usage(deepseek)[0] > 0

    native_ids = [f"n{i}" for i in range(30)]
    native_batch = run(sdk, [line(i, model="local-model") for i in native_ids], "/v1/chat/completions")
    assert_each_custom_id_once(sdk, native_batch, native_ids)
    assert len([r for r in realtime.requests if r.status == 200]) == len(native_ids)

    cancel_ids = [f"c{i}" for i in range(30)]
    cancelled = _cancel_mid_run(sdk, cancel_ids)
    assert_each_custom_id_once(sdk, cancelled, cancel_ids)
    assert {item["error"]["code"] for item in result_lines(sdk, cancelled.error_file_id)} == {"batch_cancelled"}  # type: ignore[index]
    assert cancelled.request_counts is not None
    assert cancelled.request_counts.completed > 0  # some lines ran before the cancel, the rest were dropped
    assert cancelled.request_counts.completed + cancelled.request_counts.failed == len(cancel_ids)
    assert cancelled.request_counts.failed > 0

    batch_ids = [upstream_batch.id, native_batch.id, cancelled.id]
    listed = [batch.id for batch in sdk.batches.list(limit=10)]
    assert listed == batch_ids[::-1]  # newest first
    settled = {batch_id: settled_record(served, batch_id) for batch_id in batch_ids}
    assert {record["status"] for record in settled.values()} == {"completed", "cancelled"}
    ledger = get(served, "/v1/accounting/batches", limit=50).json()["data"]
    assert sorted(record["batch_id"] for record in ledger) == sorted(batch_ids)  # each settled exactly once
