"""Off-peak deferral and time-of-day prices end to end (issue #19): the SDK, the gateway with its worker, the
native executor against the real-time simulator, and a business clock the test moves (no real waiting).

DeepSeek's 2026 peak hours are the windows: 01:00-04:00 and 06:00-10:00 UTC at 2x. Expected figures are
computed here from the simulator's own record of every request (its usage and its arrival on the clock),
with the peak hours and the formula written out again, not through the gateway's accounting code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest
import redis

from accounting.price_windows import PriceWindow
from gateway.config.settings import BatchesSettings, ModelRoute, Settings
from gateway.redis import keys
from providers.config import NativeSettings, OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.clock import MovableClock, utc
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream, Received
from tests.support.workflow import jsonl, line, wait_for

MODEL = "deepseek-chat"
PROVIDER = "deepseek-realtime"
PEAKS = [
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2)),
]
# V4-Flash off-peak rates, USD per 1M tokens: input, cached input, output.
INPUT, CACHED, OUTPUT = Decimal("0.14"), Decimal("0.028"), Decimal("0.28")
DAY = (2030, 1, 7)  # a Monday, ahead of the real clock (Redis's own TIME checks expiry against it too)
LINES = 12


def peak_multiplier(at: float) -> Decimal:
    hour = dt.datetime.fromtimestamp(at, dt.UTC).hour
    return Decimal(2) if 1 <= hour < 4 or 6 <= hour < 10 else Decimal(1)


def tokens_usd(requests: list[Received]) -> Decimal:
    """List price of these requests' tokens at multiplier 1."""
    total = Decimal(0)
    for request in requests:
        usage = request.usage or {}
        cached = usage.get("prompt_cache_hit_tokens", 0)
        uncached = usage["prompt_tokens"] - cached
        total += uncached * INPUT + cached * CACHED + usage["completion_tokens"] * OUTPUT
    return total / 10**6


def expected_costs(requests: list[Received], created_at: float) -> tuple[Decimal, Decimal]:
    """(list, batch): list at the rate when the batch was created, batch at each request's own rate."""
    served = [request for request in requests if request.status == 200]
    batch = sum((tokens_usd([r]) * peak_multiplier(r.answered_clock_at) for r in served), Decimal(0))
    return tokens_usd(served) * peak_multiplier(created_at), batch


def submit(sdk: openai.OpenAI, lines: int = LINES) -> openai.types.Batch:
    body = jsonl([line(f"p{i}", model=MODEL) for i in range(lines)])
    upload = sdk.files.create(file=("in.jsonl", body), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")


def ledger_record(server: GatewayServer, batch_id: str) -> dict[str, object]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    found: dict[str, object] = httpx.get(f"{server.base_url}/accounting/batches/{batch_id}", headers=headers).json()
    return found


@dataclass
class Offpeak:
    clock: MovableClock
    upstream: RealtimeUpstream
    server: GatewayServer
    sdk: openai.OpenAI

    def submit(self, lines: int = LINES) -> openai.types.Batch:
        return submit(self.sdk, lines)

    def record(self, batch_id: str) -> dict[str, object]:
        return ledger_record(self.server, batch_id)

    def deferred_gauge(self) -> float | None:
        registry = self.server.app.state.services.registry
        return registry.get_sample_value("batchgate_deferred_lines", {"provider": PROVIDER})  # type: ignore[no-any-return]

    def restart(self) -> None:
        """A new gateway process (API and worker) on the same Redis, storage and clock."""
        self.server.stop()
        self.server = GatewayServer(self.server.settings, run_worker=True, clock=self.clock.now)
        self.server.start()
        self.sdk.close()
        self.sdk = openai.OpenAI(base_url=self.server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)


def offpeak_settings(settings: Settings, upstream: RealtimeUpstream, window_seconds: int, *, defer: bool) -> Settings:
    concurrency = 4 if defer else 1  # one at a time: the split test holds the upstream after a number of lines
    provider = NativeSettings(base_url=upstream.base_url, defer_to_off_peak=defer, max_concurrency=concurrency)
    route = ModelRoute(
        name=MODEL,
        provider=PROVIDER,
        upstream_model="deepseek-v4-flash",
        input_usd_per_mtok=INPUT,
        cached_input_usd_per_mtok=CACHED,
        output_usd_per_mtok=OUTPUT,
        price_windows=PEAKS,
    )
    batches = BatchesSettings(window_seconds=window_seconds, deferral_check_seconds=0.1)
    return msgspec.structs.replace(settings, providers={PROVIDER: provider}, models=[route], batches=batches)


@pytest.fixture
def gateway_at(settings: Settings) -> Iterator[Callable[..., Offpeak]]:
    started: list[Offpeak] = []

    def start(at: float, *, window_seconds: int = 86400, defer: bool = True) -> Offpeak:
        clock = MovableClock(at)
        upstream = RealtimeUpstream(clock=clock.now).start()
        upstream.cache_hits = True
        config = offpeak_settings(settings, upstream, window_seconds, defer=defer)
        server = GatewayServer(config, run_worker=True, clock=clock.now)
        server.start()
        sdk = openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)
        started.append(Offpeak(clock, upstream, server, sdk))
        return started[-1]

    yield start
    for gateway in started:
        gateway.sdk.close()
        gateway.server.stop()
        gateway.upstream.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)


def wait_deferred(gateway: Offpeak, batch_id: str) -> None:
    wait_until(lambda: gateway.sdk.batches.retrieve(batch_id).status == "in_progress")
    redis_client = redis.Redis.from_url(gateway.server.settings.redis.url)
    wait_until(lambda: redis_client.hexists(keys.deferred_lines(PROVIDER), batch_id))


def test_a_batch_created_at_peak_waits_for_the_window_and_saves(gateway_at: Callable[..., Offpeak]) -> None:
    created = utc(*DAY, 2)
    gateway = gateway_at(created)
    batch = gateway.submit()
    wait_deferred(gateway, batch.id)
    waiting = gateway.sdk.batches.retrieve(batch.id)
    assert waiting.request_counts is not None
    assert waiting.request_counts.completed == 0
    assert gateway.record(batch.id)["deferred_until"] == int(utc(*DAY, 4))
    wait_until(lambda: gateway.deferred_gauge() == LINES)  # the gauge reads Redis on its refresh
    replica = GatewayServer(gateway.server.settings, clock=gateway.clock.now)  # an API replica without a worker
    replica.start()
    try:
        registry = replica.app.state.services.registry
        wait_until(lambda: registry.get_sample_value("batchgate_deferred_lines", {"provider": PROVIDER}) == LINES)
    finally:
        replica.stop()
    assert gateway.upstream.requests == []  # nothing sent while waiting

    gateway.clock.jump_to(utc(*DAY, 4))
    done = wait_for(gateway.sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
    assert done.status == "completed"
    sent = gateway.upstream.requests
    assert len(sent) == LINES
    assert all(utc(*DAY, 4) <= r.clock_at < done.expires_at for r in sent)  # at the window, before the deadline
    assert all(peak_multiplier(r.clock_at) == 1 for r in sent)

    record = gateway.record(batch.id)
    list_usd, batch_usd = expected_costs(sent, created)
    assert Decimal(str(record["list_cost_usd"])) == list_usd
    assert Decimal(str(record["batch_cost_usd"])) == batch_usd == list_usd / 2
    assert Decimal(str(record["savings_usd"])) == list_usd - batch_usd > 0
    assert record["deferred_until"] == int(utc(*DAY, 4))
    assert record["input_tokens"] == sum(r.usage["prompt_tokens"] for r in sent if r.usage)
    assert record["cached_input_tokens"] == sum(r.usage["prompt_cache_hit_tokens"] for r in sent if r.usage)
    wait_until(lambda: gateway.deferred_gauge() == 0)
    redis_client = redis.Redis.from_url(gateway.server.settings.redis.url)
    measured = redis_client.hget(keys.measured_throughput(), PROVIDER)  # lines/s, for the next plan's estimate
    assert measured is not None
    assert float(measured) > 0


@pytest.mark.parametrize(("hour", "minute"), [(17, 0), (0, 50)])
def test_a_day_long_window_never_sends_a_line_at_peak(
    gateway_at: Callable[..., Offpeak], hour: int, minute: int
) -> None:
    # 17:00 is off-peak: it runs at once. 00:50 is off-peak too, but the run (15 min margin) would reach 01:00.
    created = utc(*DAY, hour, minute)
    gateway = gateway_at(created)
    batch = gateway.submit()
    if (hour, minute) == (0, 50):
        wait_deferred(gateway, batch.id)
        assert gateway.record(batch.id)["deferred_until"] == int(utc(*DAY, 4))
        gateway.clock.jump_to(utc(*DAY, 4))
    done = wait_for(gateway.sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
    assert done.status == "completed"
    assert len(gateway.upstream.requests) == LINES
    assert all(peak_multiplier(r.clock_at) == 1 for r in gateway.upstream.requests)
    record = gateway.record(batch.id)
    list_usd, batch_usd = expected_costs(gateway.upstream.requests, created)
    assert (Decimal(str(record["list_cost_usd"])), Decimal(str(record["batch_cost_usd"]))) == (list_usd, batch_usd)
    assert Decimal(str(record["savings_usd"])) == 0


def test_a_deadline_that_cannot_wait_starts_at_once_priced_at_peak(gateway_at: Callable[..., Offpeak]) -> None:
    created = utc(*DAY, 2)
    gateway = gateway_at(created, window_seconds=3600)  # ends 03:00, still peak: waiting cannot help
    batch = gateway.submit()
    done = wait_for(gateway.sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
    assert done.status == "completed"
    sent = gateway.upstream.requests
    assert len(sent) == LINES
    assert all(peak_multiplier(r.clock_at) == 2 for r in sent)
    record = gateway.record(batch.id)
    assert record["deferred_until"] is None
    assert Decimal(str(record["batch_cost_usd"])) == tokens_usd(sent) * 2  # paid at peak
    assert Decimal(str(record["savings_usd"])) == 0


def test_each_line_is_priced_at_the_hour_it_was_served(gateway_at: Callable[..., Offpeak]) -> None:
    # No deferral: the batch starts at peak (03:58); five lines are served, the clock moves to 04:00, the rest
    # are served off-peak. Only per-line buckets give this cost (one multiplier for the batch would not).
    created = utc(*DAY, 3, 58)
    gateway = gateway_at(created, defer=False)
    gateway.upstream.hold_after = 5
    batch = gateway.submit()

    def five_done() -> bool:
        counts = gateway.sdk.batches.retrieve(batch.id).request_counts
        return counts is not None and counts.completed == 5

    wait_until(five_done)
    gateway.clock.jump_to(utc(*DAY, 4))
    gateway.upstream.released.set()
    done = wait_for(gateway.sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
    assert done.status == "completed"
    sent = gateway.upstream.requests
    assert [peak_multiplier(r.answered_clock_at) for r in sent] == [2] * 5 + [1] * (LINES - 5)
    record = gateway.record(batch.id)
    list_usd, batch_usd = expected_costs(sent, created)
    assert Decimal(str(record["list_cost_usd"])) == list_usd == tokens_usd(sent) * 2
    assert Decimal(str(record["batch_cost_usd"])) == batch_usd
    assert tokens_usd(sent) < batch_usd < list_usd
    assert Decimal(str(record["savings_usd"])) == list_usd - batch_usd


def test_cancel_while_deferred_sends_nothing(gateway_at: Callable[..., Offpeak]) -> None:
    gateway = gateway_at(utc(*DAY, 2))
    batch = gateway.submit()
    wait_deferred(gateway, batch.id)
    gateway.sdk.batches.cancel(batch.id)
    done = wait_for(gateway.sdk, batch.id, {"cancelled", "completed", "failed", "expired"})
    assert done.status == "cancelled"
    assert done.error_file_id is not None
    errors = [msgspec.json.decode(row) for row in gateway.sdk.files.content(done.error_file_id).text.splitlines()]
    assert sorted(e["custom_id"] for e in errors) == sorted(f"p{i}" for i in range(LINES))
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    gateway.clock.jump_to(utc(*DAY, 4, 1))
    assert gateway.upstream.requests == []
    redis_client = redis.Redis.from_url(gateway.server.settings.redis.url)
    assert not redis_client.hexists(keys.deferred_lines(PROVIDER), batch.id)


def test_expiry_while_deferred_sends_nothing(gateway_at: Callable[..., Offpeak]) -> None:
    gateway = gateway_at(utc(*DAY, 2))
    batch = gateway.submit()
    wait_deferred(gateway, batch.id)
    assert batch.expires_at is not None
    gateway.clock.jump_to(batch.expires_at + 1)
    done = wait_for(gateway.sdk, batch.id, {"expired", "cancelled", "completed", "failed"})
    assert done.status == "expired"
    assert done.error_file_id is not None
    errors = [msgspec.json.decode(row) for row in gateway.sdk.files.content(done.error_file_id).text.splitlines()]
    assert len(errors) == LINES
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert gateway.upstream.requests == []


def test_another_gateway_resumes_a_deferred_batch_at_the_planned_time(gateway_at: Callable[..., Offpeak]) -> None:
    gateway = gateway_at(utc(*DAY, 2))
    batch = gateway.submit()
    wait_deferred(gateway, batch.id)
    gateway.restart()  # the worker that planned the wait is gone; the plan lives in Redis
    gateway.clock.jump_to(utc(*DAY, 4))
    done = wait_for(gateway.sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
    assert done.status == "completed"
    assert sorted(r.body["messages"][-1]["content"] for r in gateway.upstream.requests) == sorted(
        f"hello p{i}" for i in range(LINES)
    )
    assert all(r.clock_at >= utc(*DAY, 4) for r in gateway.upstream.requests)


def test_an_upstream_batch_is_priced_whole_at_its_completion_time(settings: Settings) -> None:
    # openai_batch: created at 02:00 (peak), the upstream batch finishes after the clock reached 05:00.
    created = utc(*DAY, 2)
    clock = MovableClock(created)
    options = msgspec.structs.replace(DEEPSEEK, api_key="sk-offpeak-ds", in_progress_seconds=1.5)
    upstream = BatchUpstream(options)
    upstream.start()
    provider = OpenAIBatchSettings(
        base_url=upstream.base_url,
        api_key_env="OFFPEAK_DS_KEY",
        batch_discount=Decimal("0.5"),
        poll_interval_seconds=0.2,
    )
    route = ModelRoute(
        name=MODEL,
        provider="deepseek",
        input_usd_per_mtok=INPUT,
        cached_input_usd_per_mtok=CACHED,
        output_usd_per_mtok=OUTPUT,
        price_windows=PEAKS,
    )
    config = msgspec.structs.replace(settings, providers={"deepseek": provider}, models=[route])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OFFPEAK_DS_KEY", "sk-offpeak-ds")
        server = GatewayServer(config, run_worker=True, clock=clock.now)
        server.start()
    sdk = openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)
    try:
        batch = submit(sdk)
        wait_until(lambda: any(b.status == "in_progress" for b in upstream.store.batches.values()))
        clock.jump_to(utc(*DAY, 5))
        done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"})
        assert done.status == "completed"
        assert done.output_file_id is not None
        output = sdk.files.content(done.output_file_id).text.splitlines()
        usages = [msgspec.json.decode(row)["response"]["body"]["usage"] for row in output]
        assert len(usages) == LINES
        tokens = Decimal(0)
        for usage in usages:
            hits = usage["prompt_cache_hit_tokens"]
            tokens += (usage["prompt_tokens"] - hits) * INPUT + hits * CACHED + usage["completion_tokens"] * OUTPUT
        tokens /= 10**6
        record = ledger_record(server, batch.id)
        assert Decimal(str(record["list_cost_usd"])) == tokens * 2  # created at peak
        assert Decimal(str(record["batch_cost_usd"])) == tokens * 1 * Decimal("0.5")  # completed off-peak
    finally:
        sdk.close()
        server.stop()
        upstream.stop()
