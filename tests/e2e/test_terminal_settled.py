"""Terminal means settled: a client that polls with the openai SDK until `completed` and then reads its
accounting record, at once, reads the final figures — never the zero-cost in-flight view, never a list
without it. 50 batches through the native executor and 50 through a simulated batch upstream, polled in
rounds so each is read the moment its completion is first seen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from providers.config import NativeSettings, OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.support.batch_upstream import BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line

BATCHES = 50
WAVE = 10  # batches polled together: small enough that each is seen within a few ms of turning terminal
_TERMINAL = {"completed", "failed", "expired", "cancelled"}


@pytest.fixture
def served(
    settings: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayServer]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    fast = {"poll_interval_seconds": 0.05}
    providers = {
        "deepseek": OpenAIBatchSettings(
            base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
            batch_discount=Decimal("0.5"), **fast,  # type: ignore[arg-type]
        ),
        "local": NativeSettings(
            base_url=realtime.base_url, api_key_env="TEST_LOCAL_KEY", **fast,  # type: ignore[arg-type]
        ),
    }  # fmt: skip
    prices = {"input_usd_per_mtok": Decimal("0.28"), "output_usd_per_mtok": Decimal("0.42")}
    models = [
        ModelRoute(name="deepseek-chat", provider="deepseek", upstream_model=None, **prices),
        ModelRoute(name="local-model", provider="local", upstream_model="tiny", **prices),
    ]
    server = GatewayServer(msgspec.structs.replace(settings, providers=providers, models=models), run_worker=True)
    server.start()
    yield server
    server.stop()


def _create(sdk: openai.OpenAI, file_id: str, count: int) -> set[str]:
    create = sdk.batches.create
    return {
        create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h").id for _ in range(count)
    }


def _check_final(http: httpx.Client, batch: openai.types.Batch) -> None:
    """What a client reads right after seeing `completed`: the settled record, and the newest page holding it."""
    record = http.get(f"/accounting/batches/{batch.id}").json()
    assert batch.usage is not None
    assert record["status"] == "completed", record
    assert record["settled_at"] is not None, record
    assert (record["input_tokens"], record["output_tokens"]) == (batch.usage.input_tokens, batch.usage.output_tokens)
    assert record["requests_completed"] == batch.request_counts.completed == 2  # type: ignore[union-attr]
    assert Decimal(record["batch_cost_usd"]) > 0
    listed = http.get("/accounting/batches", params={"limit": 100}).json()["data"]
    assert batch.id in {item["batch_id"] for item in listed}


def _poll_and_check(sdk: openai.OpenAI, http: httpx.Client, pending: set[str], timeout: float = 60) -> list[str]:
    """Poll until every batch is terminal, checking each the moment it is first seen so; the ids checked."""
    checked = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for batch_id in sorted(pending):
            batch = sdk.batches.retrieve(batch_id)
            if batch.status in _TERMINAL:
                assert batch.status == "completed", (batch.id, batch.status, batch.errors)
                _check_final(http, batch)
                pending.discard(batch_id)
                checked.append(batch_id)
        time.sleep(0.01)  # the gateway runs in this process: leave it the interpreter between rounds
    assert not pending, f"{len(pending)} batches did not finish"
    return checked


def test_a_completed_batch_is_already_settled(served: GatewayServer) -> None:
    key = TENANT_KEYS["alpha"]
    headers = {"authorization": f"Bearer {key}"}
    models = {"native": "local-model", "openai_batch": "deepseek-chat"}
    checked = dict.fromkeys(models, 0)
    with (
        openai.OpenAI(base_url=served.base_url, api_key=key, max_retries=0) as sdk,
        httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as http,
    ):
        # Every batch of a model reads the same two-line file (custom_ids are unique within a batch only).
        files = {
            kind: sdk.files.create(
                file=("in.jsonl", jsonl([line(f"r{n}", model=m) for n in range(2)])), purpose="batch"
            ).id
            for kind, m in models.items()
        }
        for _ in range(BATCHES // (WAVE // 2)):  # each wave: half native, half openai_batch
            waves = {kind: _create(sdk, file_id, WAVE // 2) for kind, file_id in files.items()}
            kind_of = {batch_id: kind for kind, ids in waves.items() for batch_id in ids}
            for batch_id in _poll_and_check(sdk, http, set(kind_of)):
                checked[kind_of[batch_id]] += 1
        assert checked == {"native": BATCHES, "openai_batch": BATCHES}
        summary = http.get("/accounting/summary", params={"group_by": "provider"}).json()["data"]
        assert {row["provider"]: row["batches"] for row in summary} == {"local": BATCHES, "deepseek": BATCHES}
