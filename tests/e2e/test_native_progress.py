"""A native batch seen through the SDK while it runs: counts read live, completion seen promptly (issue #16)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from providers.config import NativeSettings
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line


@pytest.fixture
def slow_upstream() -> Iterator[RealtimeUpstream]:
    with RealtimeUpstream(latency=0.02) as upstream:
        yield upstream


@pytest.fixture
def sdk(settings: Settings, slow_upstream: RealtimeUpstream) -> Iterator[openai.OpenAI]:
    # Two lines at a time, 20 ms each: 160 lines take about 1.6 s. A long poll interval: only a live read
    # (or the executor's own prompt polls) can show counts moving.
    local = NativeSettings(base_url=slow_upstream.base_url, max_concurrency=2, poll_interval_seconds=30)
    models = [ModelRoute(name="local-model", provider="local")]
    server = GatewayServer(
        msgspec.structs.replace(settings, providers={"local": local}, models=models), run_worker=True
    )
    server.start()
    with openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
        yield client
    server.stop()


def test_counts_move_live_and_completion_is_seen_promptly(sdk: openai.OpenAI, slow_upstream: RealtimeUpstream) -> None:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(f"p{i}", model="local-model") for i in range(160)])),
                              purpose="batch")  # fmt: skip
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while batch.status not in ("completed", "failed", "expired", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = sdk.batches.retrieve(batch.id)
        if batch.status == "in_progress" and batch.request_counts is not None:
            done = batch.request_counts.completed + batch.request_counts.failed
            if not seen or done != seen[-1]:
                seen.append(done)
    completed_seen = time.time()
    assert batch.status == "completed"
    assert seen == sorted(seen)  # never backwards
    assert len(seen) >= 8  # every ~50 ms GET showed new counts; mirrored polls alone move them every 0.5 s
    last_request = max(r.at for r in slow_upstream.requests)
    assert completed_seen - last_request < 2.0  # the executor asks for polls every 0.5 s
