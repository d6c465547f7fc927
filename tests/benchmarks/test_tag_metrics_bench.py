"""Scrape cost with cost allocation tags: 50,000 settled batches over 200 `team` values, the label cap at work.

Labels come from the real `TagLabels` admission in Redis (cap 50 per key, the default): each tag value is
admitted or folded once, and that answer never changes afterwards, so the 50,000 settlements reuse it instead
of making 50,000 round trips.

Two workloads over the same 10 tenants × 5 routes × 6 statuses as test_metrics_bench:
- `owned`: teams belong to tenants, as in a real organisation — each tenant has 20 of the
  200 teams, and each team works on 2 of the 20 projects;
- `scattered`: every team and project appears with every tenant and route, the worst case for the
  (team × project) product up to the caps.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import msgspec
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.metrics import Metrics
from accounting.tag_labels import DEFAULT_LABEL_CAP, TagLabels
from tests.benchmarks.test_metrics_bench import BASE, ROUTES, STATUSES, TENANTS

pytestmark = pytest.mark.benchmark

TEAMS = [f"team-{index:03d}" for index in range(200)]
PROJECTS = [f"project-{index:02d}" for index in range(20)]
Pick = Callable[[int, int], tuple[str, str]]  # (batch index, tenant index) → (team, project)


def _owned(index: int, tenant: int) -> tuple[str, str]:
    team = tenant * 20 + index * 7 % 20
    return TEAMS[team], PROJECTS[(team + index % 2) % 20]


def _scattered(index: int, tenant: int) -> tuple[str, str]:
    return TEAMS[index * 7 % 200], PROJECTS[index * 3 % 20]


async def _scrape(redis_client: aioredis.Redis, pick: Pick) -> tuple[float, int, int, set[str]]:
    labeller = TagLabels(redis_client, cap=DEFAULT_LABEL_CAP, always=[("team", "team-199")])
    registry = CollectorRegistry()
    metrics = Metrics(registry, tag_keys=("team", "project"))
    combos = itertools.cycle(itertools.product(enumerate(TENANTS), ROUTES, STATUSES))
    labels: dict[tuple[str, str], dict[str, str]] = {}
    for index, ((tenant_index, tenant), (provider, model), status) in zip(range(50_000), combos, strict=False):
        team, project = pick(index, tenant_index)
        if (team, project) not in labels:
            labels[team, project] = await labeller.labels({"team": team, "project": project})
        record = msgspec.structs.replace(
            BASE,
            batch_id=f"batch_{index}",
            tenant=tenant,
            provider=provider,
            model=model,
            status=status,
            tags={"team": team, "project": project},
        )
        metrics.record_settlement(record, float(index % 86_400), tag_labels=labels[team, project])
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        text = generate_latest(registry)
        timings.append(time.perf_counter() - started)
    families = list(text_string_to_metric_families(text.decode()))
    teams = {s.labels["team"] for f in families for s in f.samples if s.name == "batchgate_tag_cost_usd_total"}
    series = sum(len(family.samples) for family in families)
    return sorted(timings)[len(timings) // 2] * 1000, len(text), series, teams


@pytest.mark.parametrize("workload", ["owned", "scattered"])
async def test_scrape_time_with_50k_settled_over_200_tag_values(redis_client: aioredis.Redis, workload: str) -> None:
    median_ms, size, series, teams = await _scrape(redis_client, _owned if workload == "owned" else _scattered)
    print(
        f"\n{workload}: 50k settled over {len(TEAMS)} teams x {len(PROJECTS)} projects, cap {DEFAULT_LABEL_CAP}: "
        f"scrape median {median_ms:.1f} ms, {size:,} bytes, {series:,} samples, {len(teams)} team labels"
    )
    assert len(teams) == DEFAULT_LABEL_CAP + 2  # 50 admitted, the budgeted team-199, and `other`
    assert "other" in teams
    assert "team-199" in teams
    assert median_ms <= 100
