"""The Grafana dashboard and the Prometheus rules only use metrics that `accounting.metrics` registers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed; PyYAML comes with uvicorn[standard]
from prometheus_client import CollectorRegistry

from accounting.metrics import Metrics, StatusGaugeCollector, StatusSnapshot
from gateway.ops.liveness import WorkerHealth

DEPLOY = Path(__file__).parents[3] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "batchgate.json"
RULES = DEPLOY / "prometheus" / "rules" / "batchgate.yml"
_NAME = re.compile(r"\bbatchgate_[a-z_]+\b")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _exposed_names() -> set[str]:
    """Every series name a scrape can show: counters with `_total`, histograms with their three series."""
    registry = CollectorRegistry()
    Metrics(registry, tag_keys=["team"])  # the dashboard's tag panels use the documented example key
    registry.register(StatusGaugeCollector(StatusSnapshot()))
    worker = WorkerHealth(registry)
    worker.running = True
    worker.tick()
    return {family.name + suffix for family in registry.collect() for suffix in _SUFFIXES[family.type]}


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exprs += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    return exprs


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_every_metric_name_exists(source: str) -> None:
    exprs = _dashboard_exprs() if source == "dashboard" else _rule_exprs()
    used = {name for expr in exprs for name in _NAME.findall(expr)}
    assert used, "no batchgate metric found: the expressions were not read"
    assert used - _exposed_names() == set()


def test_the_contract_metrics_are_on_the_dashboard() -> None:
    used = {name for expr in _dashboard_exprs() for name in _NAME.findall(expr)}
    contract = {
        "batchgate_batch_tokens_total",
        "batchgate_batch_list_cost_usd_total",
        "batchgate_batch_cost_usd_total",
        "batchgate_batch_savings_usd_total",
        "batchgate_batches_total",
    }
    assert contract <= used


def test_dashboard_panels_are_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "batchgate"
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_provisioning_points_at_the_dashboard_folder() -> None:
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "batchgate.yaml").read_text())
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"
    assert datasource["datasources"][0]["type"] == "prometheus"


def test_prometheus_loads_the_rules_file() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert [(DEPLOY / "prometheus" / path).exists() for path in config["rule_files"]] == [True]
    assert {job["job_name"] for job in config["scrape_configs"]} == {"batchgate-gateway", "batchgate-worker"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not on PATH")
def test_promtool_accepts_config_and_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    for argv in (["check", "rules", str(RULES)], ["check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")]):
        result = subprocess.run([promtool, *argv], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
