"""A batch split into three upstream batches whose second create answers 400: the first upstream batch is
followed to the end (never orphaned), the batch completes with its results, the refused shards' requests come
back as error lines, and the ledger settles what the first upstream batch cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from providers.config import OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.support.batch_upstream import BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.workflow import jsonl, line, wait_for


@pytest.fixture
def served(settings: Settings, deepseek: BatchUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayServer]:
    monkeypatch.setenv("TEST_DEEPSEEK_KEY", KEYS["TEST_DEEPSEEK_KEY"])
    provider = OpenAIBatchSettings(
        base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
        batch_discount=Decimal("0.5"), max_requests_per_batch=3, poll_interval_seconds=0.1,
    )  # fmt: skip
    route = ModelRoute(
        name="deepseek-chat", provider="deepseek", upstream_model=None,
        input_usd_per_mtok=Decimal("0.28"), output_usd_per_mtok=Decimal("0.42"),
    )  # fmt: skip
    server = GatewayServer(
        msgspec.structs.replace(settings, providers={"deepseek": provider}, models=[route]), run_worker=True
    )
    server.start()
    yield server
    server.stop()


def _lines(sdk: openai.OpenAI, file_id: str | None) -> list[dict[str, object]]:
    return [json.loads(x) for x in sdk.files.content(file_id).text.splitlines()] if file_id else []


def test_shard_two_refused_keeps_shard_one_and_settles_it(served: GatewayServer, deepseek: BatchUpstream) -> None:
    deepseek.options.refused_shards = ["1"]
    ids = [f"s{i}" for i in range(9)]
    key = TENANT_KEYS["alpha"]
    with openai.OpenAI(base_url=served.base_url, api_key=key, max_retries=0) as sdk:
        upload = sdk.files.create(
            file=("in.jsonl", jsonl([line(i, model="deepseek-chat") for i in ids])), purpose="batch"
        )
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=30)
        assert done.status == "completed", done.errors
        output, errors = _lines(sdk, done.output_file_id), _lines(sdk, done.error_file_id)
    assert sorted(str(item["custom_id"]) for item in output + errors) == sorted(ids)
    assert sorted(str(item["custom_id"]) for item in output) == ids[:3]
    assert {item["error"]["code"] for item in errors} == {"batch_failed"}  # type: ignore[index]
    counts = done.request_counts
    assert counts is not None
    assert (counts.total, counts.completed, counts.failed) == (9, 3, 6)
    assert len(deepseek.store.batches) == 1, "no upstream batch beyond the one that was created"
    (upstream,) = deepseek.store.batches.values()
    assert upstream.status == "completed", "the created shard was followed to its end"
    record = httpx.get(f"{served.base_url}/accounting/batches/{batch.id}", headers={"authorization": f"Bearer {key}"})
    settled = record.json()
    assert done.usage is not None
    assert upstream.usage is not None
    assert settled["settled_at"] is not None
    assert settled["input_tokens"] == done.usage.input_tokens == upstream.usage.input_tokens > 0
    assert settled["output_tokens"] == done.usage.output_tokens == upstream.usage.output_tokens
    assert Decimal(settled["batch_cost_usd"]) > 0
