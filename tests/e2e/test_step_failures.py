"""The one error policy of worker steps, seen through the SDK: every failing step ends its batch, with a
documented code, every custom_id once, the cost settled and the budget reservation released.

The scripted provider fails on cue (its subclasses below); the upstream-404 case runs the real
openai_batch adapter against the DeepSeek simulator.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from accounting import keys as ledger_keys
from gateway.config.settings import ModelRoute, Settings
from gateway.redis import keys
from gateway.storage.local import LocalStorage
from gateway.worker.providers import ProviderSet
from providers.base import BatchJob, PollOutcome, ProviderError
from providers.config import OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.support.batch_upstream import BatchUpstream, Fault
from tests.support.gateway_server import GatewayServer
from tests.support.redis_server import RedisServer
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import jsonl, line, wait_for

TERMINAL = {"completed", "failed", "expired", "cancelled"}


class _DeletesInput(ScriptedProvider):
    """The input file vanishes between validation and submit (deleted, or expired by `expires_after`)."""

    async def submit(self, job: BatchJob) -> bytes:
        await self.blobs.delete(job.input_key)
        return await super().submit(job)


class _ResultsGone(ScriptedProvider):
    """The upstream finished, but its result file answers 404."""

    def fetch_results(self, job: BatchJob, state: bytes) -> AsyncIterator[bytes]:
        raise ProviderError("provider 'scripted': HTTP 404: No such file", retryable=False, code="provider_rejected")


class _FlakyPoll(ScriptedProvider):
    """Polls fail `failures` times in a row (a 5xx storm past the client's own retries, or a bug)."""

    def __init__(self, *args: object, error: Exception, failures: int) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.error, self.failures = error, failures

    async def poll(self, job: BatchJob, state: bytes) -> tuple[PollOutcome, bytes]:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        return await super().poll(job, state)


class _SubmitDown(ScriptedProvider):
    async def submit(self, job: BatchJob) -> bytes:
        self.submits.append(job.batch_id)
        raise ProviderError("provider 'scripted': POST /batches failed: HTTP 503", retryable=True)


@pytest.fixture
def serve_with(scripted_settings: Settings) -> Iterator[object]:
    # The step backoff's shape, ten times faster: [batches] step_retry_base_seconds and step_retry_max_seconds.
    batches = msgspec.structs.replace(
        scripted_settings.batches, step_retry_base_seconds=0.1, step_retry_max_seconds=6.0
    )
    settings = msgspec.structs.replace(scripted_settings, batches=batches)
    servers: list[GatewayServer] = []

    def start(provider: ScriptedProvider) -> tuple[GatewayServer, openai.OpenAI]:
        server = GatewayServer(settings, run_worker=True, providers=ProviderSet({"scripted": provider}))
        server.start()
        servers.append(server)
        return server, openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)

    yield start
    for server in servers:
        server.stop()


def _blobs(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.storage_dir)


def _submit(sdk: openai.OpenAI, ids: list[str]) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id


def _results(sdk: openai.OpenAI, batch: openai.types.Batch) -> tuple[list[str], list[dict[str, object]]]:
    def rows(file_id: str | None) -> list[dict[str, object]]:
        return [json.loads(x) for x in sdk.files.content(file_id).text.splitlines()] if file_id else []

    return [str(r["custom_id"]) for r in rows(batch.output_file_id)], rows(batch.error_file_id)


def assert_closed(server: GatewayServer, redis_port: int, batch: openai.types.Batch) -> dict[str, object]:
    """Settled once (a ledger record matching the batch's counts), reservation released, off the schedule."""
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    client = redis.Redis(port=redis_port)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            settled = httpx.get(f"{server.base_url}/accounting/batches/{batch.id}", headers=headers)
            closed = client.zscore(keys.work_due(), batch.id) is None
            if settled.status_code == 200 and closed:
                break
            time.sleep(0.05)
        assert settled.status_code == 200, settled.text
        assert client.zscore(keys.work_due(), batch.id) is None
        assert not client.hexists(ledger_keys.reservation_owners(), batch.id)
    finally:
        client.close()
    record: dict[str, object] = settled.json()
    counts = batch.request_counts
    assert counts is not None
    assert (record["status"], record["requests_completed"], record["requests_failed"]) == (
        batch.status,
        counts.completed,
        counts.failed,
    )
    return record


def _step_errors(server: GatewayServer) -> dict[tuple[str, str], float]:
    text = httpx.get(f"{server.root_url}/metrics").text
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "batchgate_worker_step_errors":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    found[(sample.labels["step"], sample.labels["code"])] = sample.value
    return found


def test_input_deleted_after_validation_fails_at_once_with_input_file_missing(
    serve_with: object, scripted_settings: Settings, redis_server: RedisServer
) -> None:
    server, sdk = serve_with(_DeletesInput("scripted", _blobs(scripted_settings)))  # type: ignore[operator]
    started = time.monotonic()
    done = wait_for(sdk, _submit(sdk, ["a", "b", "c"]), TERMINAL, timeout=15)
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data is not None
    assert [e.code for e in done.errors.data] == ["input_file_missing"]
    assert time.monotonic() - started < 10  # no retry: a missing object is permanent
    record = assert_closed(server, redis_server.port, done)
    assert Decimal(str(record["batch_cost_usd"])) == 0
    assert _step_errors(server)[("submit", "input_file_missing")] == 1


def test_upstream_result_gone_completes_with_every_line_in_the_error_file(
    serve_with: object, scripted_settings: Settings, redis_server: RedisServer
) -> None:
    server, sdk = serve_with(_ResultsGone("scripted", _blobs(scripted_settings)))  # type: ignore[operator]
    ids = ["a", "b", "c", "d"]
    done = wait_for(sdk, _submit(sdk, ids), TERMINAL, timeout=15)
    assert done.status == "completed"
    output, errors = _results(sdk, done)
    assert output == []
    assert sorted(str(e["custom_id"]) for e in errors) == ids
    assert {e["error"]["code"] for e in errors} == {"upstream_result_missing"}  # type: ignore[index]
    assert_closed(server, redis_server.port, done)


def test_a_transient_failure_is_retried_with_backoff_then_the_batch_completes(
    serve_with: object, scripted_settings: Settings, redis_server: RedisServer
) -> None:
    error = ProviderError("provider 'scripted': GET /batches/x failed: HTTP 502", retryable=True)
    provider = _FlakyPoll("scripted", _blobs(scripted_settings), error=error, failures=2)
    server, sdk = serve_with(provider)  # type: ignore[operator]
    ids = ["a", "b"]
    done = wait_for(sdk, _submit(sdk, ids), TERMINAL, timeout=20)
    assert done.status == "completed"
    assert sorted(_results(sdk, done)[0]) == ids
    assert _step_errors(server)[("poll", "upstream_unavailable")] == 2
    assert_closed(server, redis_server.port, done)
    fields = redis.Redis(port=redis_server.port).hmget(keys.batch_record(done.id), ["attempts", "failing_since"])
    assert fields == [b"0", b"null"]  # the step got over it: the failure count starts again


def test_a_bug_is_tried_three_times_then_the_batch_expires_with_internal_error(
    serve_with: object, scripted_settings: Settings, redis_server: RedisServer
) -> None:
    provider = _FlakyPoll("scripted", _blobs(scripted_settings), error=KeyError("oops"), failures=1000)
    server, sdk = serve_with(provider)  # type: ignore[operator]
    ids = ["a", "b", "c"]
    done = wait_for(sdk, _submit(sdk, ids), TERMINAL, timeout=20)
    assert done.status == "expired"  # submitted, so something may have run: not `failed`
    assert done.errors is not None
    assert done.errors.data is not None
    assert [e.code for e in done.errors.data] == ["internal_error"]
    output, errors = _results(sdk, done)
    assert sorted(output) == ids  # the provider could still deliver every result: all kept
    assert errors == []
    assert _step_errors(server)[("poll", "internal_error")] == 3
    assert_closed(server, redis_server.port, done)


def test_cancel_wins_over_a_failing_submit(
    serve_with: object, scripted_settings: Settings, redis_server: RedisServer
) -> None:
    provider = _SubmitDown("scripted", _blobs(scripted_settings))
    server, sdk = serve_with(provider)  # type: ignore[operator]
    ids = ["a", "b"]
    batch_id = _submit(sdk, ids)
    deadline = time.monotonic() + 10
    while not provider.submits and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider.submits, "the submit was never tried"
    sdk.batches.cancel(batch_id)
    done = wait_for(sdk, batch_id, TERMINAL, timeout=10)
    assert done.status == "cancelled"
    output, errors = _results(sdk, done)
    assert output == []
    assert sorted(str(e["custom_id"]) for e in errors) == ids
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}  # type: ignore[index]
    assert_closed(server, redis_server.port, done)


def test_upstream_output_file_404_on_the_real_adapter(
    settings: Settings, deepseek: BatchUpstream, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    provider = OpenAIBatchSettings(
        base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
        batch_discount=Decimal("0.5"), endpoints=["/v1/chat/completions"], poll_interval_seconds=0.2,
    )  # fmt: skip
    route = ModelRoute(
        name="deepseek-chat", provider="deepseek", input_usd_per_mtok=Decimal("1"), output_usd_per_mtok=Decimal("2")
    )
    deepseek.add_fault(Fault(route="content", count=1000, status=404))
    server = GatewayServer(
        msgspec.structs.replace(settings, providers={"deepseek": provider}, models=[route]), run_worker=True
    )
    server.start()
    try:
        sdk = openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)
        ids = ["x1", "x2", "x3"]
        upload = sdk.files.create(
            file=("in.jsonl", jsonl([line(i, model="deepseek-chat") for i in ids])), purpose="batch"
        )
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        done = wait_for(sdk, batch.id, TERMINAL, timeout=30)
        assert done.status == "completed"
        output, errors = _results(sdk, done)
        assert output == []
        assert sorted(str(e["custom_id"]) for e in errors) == ids
        assert {e["error"]["code"] for e in errors} == {"upstream_result_missing"}  # type: ignore[index]
        assert_closed(server, redis_server.port, done)
    finally:
        server.stop()
