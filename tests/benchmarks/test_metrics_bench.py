"""Scrape cost with many settled batches, and ledger settlement throughput against a real Redis."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import msgspec
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.ledger import Ledger
from accounting.metrics import Metrics, StatusGaugeCollector, StatusSnapshot
from accounting.records import LedgerRecord

pytestmark = pytest.mark.benchmark

TENANTS = [f"tenant{index}" for index in range(10)]
ROUTES = [("deepseek", "deepseek-chat"), ("deepseek", "deepseek-reasoner"), ("deepinfra", "Qwen/Qwen2.5-72B-Instruct")]
ROUTES += [("deepinfra", "BAAI/bge-m3"), ("local", "llama")]
STATUSES = ["completed", "completed", "completed", "failed", "expired", "cancelled"]
BASE = LedgerRecord(
    batch_id="batch_0",
    tenant="tenant0",
    provider="deepseek",
    model="deepseek-chat",
    endpoint="/v1/chat/completions",
    status="completed",
    requests_completed=95,
    requests_failed=5,
    input_tokens=150_000,
    cached_input_tokens=60_000,
    output_tokens=30_000,
    reasoning_tokens=1_000,
    list_cost_usd=Decimal("0.0381"),
    batch_cost_usd=Decimal("0.01905"),
    savings_usd=Decimal("0.01905"),
    settled_at=1_767_225_600,
)


def _settle_into(metrics: Metrics, count: int, start: int = 0) -> None:
    combos = itertools.cycle(itertools.product(TENANTS, ROUTES, STATUSES))
    for index, (tenant, (provider, model), status) in zip(range(start, start + count), combos, strict=False):
        record = msgspec.structs.replace(
            BASE, batch_id=f"batch_{index}", tenant=tenant, provider=provider, model=model, status=status
        )
        metrics.record_settlement(record, turnaround_seconds=float(index % 86_400))


def _series(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def test_scrape_time_with_50k_settled_and_1k_in_flight() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    snapshot = StatusSnapshot()
    registry.register(StatusGaugeCollector(snapshot))
    snapshot.update({"validating": 100, "in_progress": 800, "finalizing": 60, "cancelling": 40})  # 1,000 in flight
    started = time.perf_counter()
    _settle_into(metrics, 5_000)
    series_5k = _series(generate_latest(registry).decode())
    _settle_into(metrics, 45_000, start=5_000)
    record_seconds = time.perf_counter() - started
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        text = generate_latest(registry)
        timings.append(time.perf_counter() - started)
    series_50k = _series(text.decode())
    median_ms = sorted(timings)[len(timings) // 2] * 1000
    print(
        f"\nrecord_settlement: {50_000 / record_seconds:,.0f}/s; scrape with 50k settled + 1k in flight: "
        f"median {median_ms:.1f} ms, max {max(timings) * 1000:.1f} ms, {len(text):,} bytes, {series_50k} series "
        f"(after 5k batches: {series_5k})"
    )
    assert median_ms <= 100
    assert series_50k == series_5k


async def test_ledger_settle_throughput(redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client)
    count = 2_000
    records = [
        msgspec.structs.replace(BASE, batch_id=f"batch_{index}", settled_at=BASE.settled_at + index)
        for index in range(count)
    ]
    started = time.perf_counter()
    for record in records:
        assert await ledger.settle(record)
    settle_seconds = time.perf_counter() - started
    started = time.perf_counter()
    [row] = await ledger.summary(None, [])
    summary_seconds = time.perf_counter() - started
    print(
        f"\nsettle: {count / settle_seconds:,.0f}/s sequential ({settle_seconds / count * 1000:.2f} ms each); "
        f"summary over {count} records: {summary_seconds * 1000:.0f} ms"
    )
    assert row.batches == count
    assert row.list_cost_usd == BASE.list_cost_usd * count
