"""Routes and off-peak deferral together (issue #19), on a clock the test moves: the default DeepSeek shape — the
batch API first, then the real-time API through the native executor with peak windows and `defer_to_off_peak`.

A batch created at peak whose first route has no batch API (404) is handed to the real-time route, which waits
for the off-peak window; the ledger prices that leg at the off-peak rate it was served at, its list at the peak
rate of the batch's creation. Expected figures come from the simulator's own record of each request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import msgspec
import openai
import pytest
import redis

from gateway.config.settings import BatchesSettings, ModelRoute, Settings
from gateway.redis import keys
from providers.config import NativeSettings, OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.e2e.test_offpeak import DAY, PEAKS, ledger_record, peak_multiplier, tokens_usd, wait_until
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.clock import MovableClock, utc
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line, wait_for

MODEL = "deepseek-chat"
REALTIME = "deepseek-realtime"
LINES = 12
FAST = {"poll_interval_seconds": 0.2, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05}


@dataclass
class TwoRoutes:
    clock: MovableClock
    batch_api: BatchUpstream
    realtime: RealtimeUpstream
    server: GatewayServer


def _settings(settings: Settings, batch_api: BatchUpstream, realtime: RealtimeUpstream) -> Settings:
    providers = {
        "deepseek": OpenAIBatchSettings(
            base_url=batch_api.base_url, api_key_env="TEST_DEEPSEEK_KEY",
            batch_discount=Decimal("0.5"), endpoints=["/v1/chat/completions"], **FAST,  # type: ignore[arg-type]
        ),
        REALTIME: NativeSettings(
            base_url=realtime.base_url, defer_to_off_peak=True, max_concurrency=4
        ),
    }  # fmt: skip
    models = [
        ModelRoute(name=MODEL, provider="deepseek", input_usd_per_mtok=Decimal("0.28"),
                   cached_input_usd_per_mtok=Decimal("0.028"), output_usd_per_mtok=Decimal("0.42")),
        ModelRoute(name=MODEL, provider=REALTIME, upstream_model="deepseek-v4-flash",
                   input_usd_per_mtok=Decimal("0.14"), cached_input_usd_per_mtok=Decimal("0.028"),
                   output_usd_per_mtok=Decimal("0.28"), price_windows=PEAKS),
    ]  # fmt: skip
    batches = BatchesSettings(window_seconds=86400, deferral_check_seconds=0.1)
    return msgspec.structs.replace(settings, providers=providers, models=models, batches=batches)


@pytest.fixture
def two_routes(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwoRoutes]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    clock = MovableClock(utc(*DAY, 2))  # peak
    batch_api = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key=KEYS["TEST_DEEPSEEK_KEY"]))
    batch_api.start()
    batch_api.store.options.batch_api_status = 404  # DeepSeek as it is: no Files/Batches API
    realtime = RealtimeUpstream(clock=clock.now).start()
    realtime.cache_hits = True
    server = GatewayServer(_settings(settings, batch_api, realtime), run_worker=True, clock=clock.now)
    server.start()
    yield TwoRoutes(clock, batch_api, realtime, server)
    server.stop()
    realtime.stop()
    batch_api.stop()


def test_a_batch_refused_by_the_batch_api_at_peak_waits_for_off_peak_on_the_realtime_route(
    two_routes: TwoRoutes,
) -> None:
    clock, realtime, server = two_routes.clock, two_routes.realtime, two_routes.server
    ids = [f"p{i}" for i in range(LINES)]
    with openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as sdk:
        upload = sdk.files.create(file=("in.jsonl", jsonl([line(i, model=MODEL) for i in ids])), purpose="batch")
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        created = batch.created_at

        deferred = redis.Redis.from_url(server.settings.redis.url)
        wait_until(lambda: deferred.hexists(keys.deferred_lines(REALTIME), batch.id))  # handed over, then waiting
        waiting = sdk.batches.retrieve(batch.id)
        assert waiting.status == "in_progress"
        assert waiting.request_counts is not None
        assert waiting.request_counts.completed == 0
        assert ledger_record(server, batch.id)["deferred_until"] == int(utc(*DAY, 4))
        assert realtime.requests == []
        assert two_routes.batch_api.recorder.calls["create"] == 0

        clock.jump_to(utc(*DAY, 4))
        done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=60)
        assert done.status == "completed", done.errors
        assert done.output_file_id is not None
        output = [json.loads(row) for row in sdk.files.content(done.output_file_id).text.splitlines()]

    assert sorted(item["custom_id"] for item in output) == sorted(ids)  # every line once
    sent = realtime.requests
    assert sorted(r.body["messages"][-1]["content"] for r in sent) == sorted(f"hello {i}" for i in ids)
    assert all(r.clock_at >= utc(*DAY, 4) for r in sent)  # nothing sent at peak
    assert all(peak_multiplier(r.answered_clock_at) == 1 for r in sent)

    record = ledger_record(server, batch.id)
    assert record["provider"] == REALTIME
    assert record["deferred_until"] == int(utc(*DAY, 4))
    routes = record["routes"]
    assert isinstance(routes, list)
    assert [(r["provider"], r["requests"]) for r in routes] == [("deepseek", 0), (REALTIME, LINES)]
    refused, served = routes
    assert Decimal(refused["list_cost_usd"]) == Decimal(refused["batch_cost_usd"]) == 0
    tokens = tokens_usd(sent)  # the real-time route's tokens at its off-peak (x1) rate, computed here
    assert peak_multiplier(created) == 2
    assert Decimal(served["list_cost_usd"]) == tokens * 2  # list: the peak rate when the batch was created
    assert Decimal(served["batch_cost_usd"]) == tokens  # paid: the off-peak rate it was served at, no discount
    assert Decimal(served["savings_usd"]) == tokens
    assert served["input_tokens"] == sum(r.usage["prompt_tokens"] for r in sent if r.usage)
    assert served["cached_input_tokens"] == sum(r.usage["prompt_cache_hit_tokens"] for r in sent if r.usage)
    totals = (Decimal(str(record["list_cost_usd"])), Decimal(str(record["batch_cost_usd"])))
    assert totals == (tokens * 2, tokens)  # the record is the sum of its routes
    wait_until(lambda: not deferred.hexists(keys.deferred_lines(REALTIME), batch.id))
    print(f"\n{batch.id}: realtime leg list {tokens * 2} batch {tokens} savings {tokens}, sent from 04:00")
