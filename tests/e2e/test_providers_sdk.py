"""The SDK workflow routed to real provider adapters: DeepSeek- and DeepInfra-flavoured batch upstreams and
the native executor against a real-time upstream — all simulated by HTTP servers of ours on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import ModelRoute, Settings
from providers.config import NativeSettings, OpenAIBatchSettings
from tests.e2e.conftest import KEYS
from tests.support.batch_upstream import DEEPINFRA, BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line, wait_for


@pytest.fixture
def deepinfra() -> Iterator[BatchUpstream]:
    options = msgspec.structs.replace(DEEPINFRA, api_key=KEYS["TEST_DEEPINFRA_KEY"], failed_custom_ids=["bad-1"])
    upstream = BatchUpstream(options)
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def served(
    settings: Settings,
    deepseek: BatchUpstream,
    deepinfra: BatchUpstream,
    realtime: RealtimeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GatewayServer]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    fast = {"poll_interval_seconds": 0.2}
    providers = {
        "deepseek": OpenAIBatchSettings(
            base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
            batch_discount=Decimal("0.5"), endpoints=["/v1/chat/completions"], **fast,  # type: ignore[arg-type]
        ),
        "deepinfra": OpenAIBatchSettings(
            base_url=deepinfra.base_url, api_key_env="TEST_DEEPINFRA_KEY",
            batch_discount=Decimal("0.2"), output_purpose="batch-output", **fast,  # type: ignore[arg-type]
        ),
        "local": NativeSettings(
            base_url=realtime.base_url, api_key_env="TEST_LOCAL_KEY", **fast,  # type: ignore[arg-type]
        ),
    }  # fmt: skip
    prices = {"input_usd_per_mtok": Decimal("0.28"), "output_usd_per_mtok": Decimal("0.42")}
    models = [
        ModelRoute(name="deepseek-chat", provider="deepseek", cached_input_usd_per_mtok=Decimal("0.028"), **prices),
        ModelRoute(name="llama", provider="deepinfra", upstream_model="meta-llama/Llama-3.3-70B-Instruct", **prices),
        ModelRoute(name="bge", provider="deepinfra", upstream_model="BAAI/bge-m3", **prices),
        ModelRoute(name="local-model", provider="local", upstream_model="tiny", **prices),
    ]
    server = GatewayServer(msgspec.structs.replace(settings, providers=providers, models=models), run_worker=True)
    server.start()
    yield server
    server.stop()


def run(sdk: openai.OpenAI, lines: list[dict[str, object]], endpoint: str) -> openai.types.Batch:
    upload = sdk.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint=endpoint, completion_window="24h")  # type: ignore[arg-type]
    done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=30)
    assert done.status == "completed", done.errors
    return done


def result_lines(sdk: openai.OpenAI, file_id: str | None) -> list[dict[str, object]]:
    return [json.loads(x) for x in sdk.files.content(file_id).text.splitlines()] if file_id else []


def assert_each_custom_id_once(sdk: openai.OpenAI, batch: openai.types.Batch, ids: list[str]) -> None:
    seen = [
        item["custom_id"] for item in result_lines(sdk, batch.output_file_id) + result_lines(sdk, batch.error_file_id)
    ]
    assert sorted(seen) == sorted(ids)  # type: ignore[type-var]


def upstream_usage(upstream: BatchUpstream) -> tuple[int, int, int]:
    batches = list(upstream.store.batches.values())
    return (
        sum(b.usage.input_tokens for b in batches if b.usage),
        sum(b.usage.input_tokens_details["cached_tokens"] for b in batches if b.usage),
        sum(b.usage.output_tokens for b in batches if b.usage),
    )


def test_deepseek_batch_mirrors_usage_and_sends_only_the_provider_key(
    sdk: openai.OpenAI, deepseek: BatchUpstream, served: GatewayServer
) -> None:
    ids = [f"q{i}" for i in range(12)]
    done = run(sdk, [line(i, model="deepseek-chat") for i in ids], "/v1/chat/completions")
    assert_each_custom_id_once(sdk, done, ids)
    assert done.usage is not None
    usage = done.usage
    assert (usage.input_tokens, usage.input_tokens_details.cached_tokens, usage.output_tokens) == upstream_usage(
        deepseek
    )
    assert set(deepseek.recorder.authorizations) == {f"Bearer {KEYS['TEST_DEEPSEEK_KEY']}"}
    output = sdk.files.retrieve(done.output_file_id or "")
    assert output.purpose == "batch_output"
    assert output.id.startswith("file-")  # never an upstream id
    metrics = httpx.get(f"{served.root_url}/metrics").text
    upstream_calls = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "batchgate_upstream_requests_total" and sample.labels["provider"] == "deepseek"
    }
    assert upstream_calls["ok"] >= 3  # at least upload, create and one poll


def test_deepinfra_quirks_model_rewrite_and_failed_lines(sdk: openai.OpenAI, deepinfra: BatchUpstream) -> None:
    ids = ["ok-1", "bad-1", "ok-2"]
    done = run(sdk, [line(i, model="llama") for i in ids], "/v1/chat/completions")
    assert_each_custom_id_once(sdk, done, ids)
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    assert set().union(*deepinfra.store.models_seen.values()) == {"meta-llama/Llama-3.3-70B-Instruct"}
    errors = result_lines(sdk, done.error_file_id)
    assert errors[0]["custom_id"] == "bad-1"
    assert sdk.files.retrieve(done.error_file_id or "").purpose == "batch_output"
    assert set(deepinfra.recorder.authorizations) == {f"Bearer {KEYS['TEST_DEEPINFRA_KEY']}"}


def test_deepinfra_embeddings(sdk: openai.OpenAI, deepinfra: BatchUpstream) -> None:
    lines = [
        {"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings", "body": {"model": "bge", "input": [1, 2, 3]}}
        for i in range(4)
    ]
    done = run(sdk, lines, "/v1/embeddings")
    assert_each_custom_id_once(sdk, done, [f"e{i}" for i in range(4)])
    assert done.usage is not None
    assert done.usage.output_tokens == 0
    assert done.usage.input_tokens == upstream_usage(deepinfra)[0] > 0


def test_native_executor_runs_every_line_once(sdk: openai.OpenAI, realtime: RealtimeUpstream) -> None:
    ids = [f"n{i}" for i in range(25)]
    done = run(sdk, [line(i, model="local-model") for i in ids], "/v1/chat/completions")
    assert_each_custom_id_once(sdk, done, ids)
    ok = [request for request in realtime.requests if request.status == 200]
    assert len(ok) == len(ids)
    assert {request.body["model"] for request in ok} == {"tiny"}
    assert {request.headers.get("authorization") for request in realtime.requests} == {
        f"Bearer {KEYS['TEST_LOCAL_KEY']}"
    }
    assert done.usage is not None
    assert done.usage.input_tokens == sum((request.usage or {}).get("prompt_tokens", 0) for request in ok)
    assert done.usage.output_tokens == sum((request.usage or {}).get("completion_tokens", 0) for request in ok)
