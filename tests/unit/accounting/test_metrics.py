"""The /metrics text after a known settlement, rendered and parsed with prometheus_client itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.metrics import Metrics, StatusGaugeCollector, StatusSnapshot, WithoutLabels
from accounting.records import LedgerRecord

BASE = LedgerRecord(
    batch_id="batch_1",
    tenant="research",
    provider="deepseek",
    model="deepseek-chat",
    endpoint="/v1/chat/completions",
    status="completed",
    requests_completed=9,
    requests_failed=1,
    input_tokens=1000,
    cached_input_tokens=600,
    output_tokens=300,
    reasoning_tokens=20,
    list_cost_usd=Decimal("0.0002548"),
    batch_cost_usd=Decimal("0.0001274"),
    savings_usd=Decimal("0.0001274"),
    settled_at=1_767_225_600,
)


def _record(**changes: Any) -> LedgerRecord:
    return msgspec.structs.replace(BASE, **changes)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def test_settlement_counters_after_a_known_batch() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.record_settlement(_record(), turnaround_seconds=5400)
    metrics.record_settlement(_record(batch_id="batch_2", status="expired", priced=False, model="m"), 60)
    samples = _samples(registry)
    where = {"tenant": "research", "provider": "deepseek", "model": "deepseek-chat"}
    for kind, count in (("input", 1000), ("cached_input", 600), ("output", 300), ("reasoning", 20)):
        assert samples["batchgate_batch_tokens_total", _labels(**where, kind=kind)] == count
    assert samples["batchgate_batch_list_cost_usd_total", _labels(**where)] == pytest.approx(0.0002548)
    assert samples["batchgate_batch_cost_usd_total", _labels(**where)] == pytest.approx(0.0001274)
    assert samples["batchgate_batch_savings_usd_total", _labels(**where)] == pytest.approx(0.0001274)
    assert samples["batchgate_batches_total", _labels(tenant="research", provider="deepseek", status="completed")] == 1
    assert samples["batchgate_batches_total", _labels(tenant="research", provider="deepseek", status="expired")] == 1
    assert samples["batchgate_batch_requests_total", _labels(**where, outcome="failed")] == 1
    assert samples["batchgate_unpriced_batches_total", _labels(provider="deepseek", model="m")] == 1
    assert samples["batchgate_batch_turnaround_seconds_bucket", _labels(provider="deepseek", le="7200.0")] == 2
    assert samples["batchgate_batch_turnaround_seconds_bucket", _labels(provider="deepseek", le="3600.0")] == 1
    assert samples["batchgate_batch_size_requests_sum", _labels(provider="deepseek")] == 20


def test_no_batch_id_ever_becomes_a_label() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    for index in range(50):
        metrics.record_settlement(_record(batch_id=f"batch_{index}"), 1.0)
    text = generate_latest(registry).decode()
    assert "batch_1" not in text
    series = len(_samples(registry))
    metrics.record_settlement(_record(batch_id="batch_new"), 1.0)
    assert len(_samples(registry)) == series


def test_status_gauge_reads_the_snapshot_at_scrape_time() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    snapshot = StatusSnapshot()
    registry.register(StatusGaugeCollector(snapshot))
    assert not [key for key in _samples(registry) if key[0] == "batchgate_batches_current"]
    snapshot.update({"in_progress": 7, "validating": 2})
    samples = _samples(registry)
    assert samples["batchgate_batches_current", _labels(status="in_progress")] == 7
    assert samples["batchgate_batches_current", _labels(status="validating")] == 2


def test_two_registries_do_not_collide() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    Metrics(first).batches.labels("a", "b", "completed").inc()
    Metrics(second)
    assert ("batchgate_batches_total", _labels(tenant="a", provider="b", status="completed")) not in _samples(second)


def test_budget_gauges() -> None:
    registry = CollectorRegistry()
    Metrics(registry).set_tenant_budget("research", Decimal("500"), Decimal("123.45"))
    samples = _samples(registry)
    assert samples["batchgate_tenant_budget_usd", _labels(tenant="research")] == 500
    assert samples["batchgate_tenant_month_spend_usd", _labels(tenant="research")] == pytest.approx(123.45)


def test_upstream_and_http_helpers() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.observe_upstream("local", "ok", 0.2)
    metrics.observe_upstream("local", "http_429", 0.01)
    metrics.observe_http("GET", "/v1/batches/{batch_id}", 200, 0.003)
    samples = _samples(registry)
    assert samples["batchgate_upstream_requests_total", _labels(provider="local", outcome="http_429")] == 1
    assert samples["batchgate_executor_rate_limited_total", _labels(provider="local")] == 1
    assert samples["batchgate_upstream_request_duration_seconds_count", _labels(provider="local", outcome="ok")] == 1
    route = _labels(method="GET", route="/v1/batches/{batch_id}", status="200")
    assert samples["batchgate_http_request_duration_seconds_count", route] == 1


def test_public_view_hides_tenant_and_tag_series() -> None:
    """Tag values (team names) are business data like tenant names: the public view keeps neither."""
    registry = CollectorRegistry()
    metrics = Metrics(registry, tag_keys=["team"])
    metrics.record_settlement(_record(), turnaround_seconds=60, tag_labels={"team": "research"})
    metrics.set_tag_budget("team", "research", Decimal(100), Decimal(1))
    metrics.observe_upstream("deepseek", "ok", 0.2)
    public = generate_latest(WithoutLabels(registry, metrics.business_labels)).decode()
    assert "research" not in public
    assert "batchgate_tag_" not in public
    assert 'batchgate_upstream_requests_total{outcome="ok",provider="deepseek"} 1.0' in public
    full = generate_latest(registry).decode()
    assert 'batchgate_tag_cost_usd_total{team="research"}' in full
    assert 'batchgate_tag_budget_usd{key="team",value="research"} 100.0' in full


def test_negative_savings_add_nothing_to_the_savings_counter() -> None:
    # Served at peak, created off-peak: the ledger keeps the negative savings, a counter cannot go down.
    registry = CollectorRegistry()
    metrics = Metrics(registry, ("team",))
    metrics.record_settlement(_record(savings_usd=Decimal("0.0001")), 1, tag_labels={"team": "a"})
    metrics.record_settlement(_record(batch_id="batch_2", savings_usd=Decimal("-0.0003")), 1, tag_labels={"team": "a"})
    samples = _samples(registry)
    where = {"tenant": "research", "provider": "deepseek", "model": "deepseek-chat"}
    assert samples["batchgate_batch_savings_usd_total", _labels(**where)] == pytest.approx(0.0001)
    assert samples["batchgate_tag_savings_usd_total", _labels(team="a")] == pytest.approx(0.0001)


def test_deferred_lines_gauge_is_set_per_provider() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.set_deferred_lines("deepseek-realtime", 120)
    metrics.set_deferred_lines("deepseek-realtime", 20)
    assert _samples(registry)["batchgate_deferred_lines", _labels(provider="deepseek-realtime")] == 20
