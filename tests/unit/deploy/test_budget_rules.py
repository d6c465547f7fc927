"""The tag budget alerts fire at 50, 80 and 100 % of a budget, checked with `promtool test rules`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed; PyYAML comes with uvicorn[standard]

RULES = Path(__file__).parents[3] / "deploy" / "prometheus" / "rules" / "batchgate.yml"
ALERTS = ("BatchgateTagBudgetHalfSpent", "BatchgateTagBudgetNearlySpent", "BatchgateTagBudgetSpent")


def _expected(spent_share: float) -> dict[str, bool]:
    return dict(zip(ALERTS, (spent_share >= 0.5, spent_share >= 0.8, spent_share >= 1), strict=True))


def _summary(alert: str, share: float) -> str:
    if alert == "BatchgateTagBudgetSpent":
        return "team=research has spent its monthly budget; its new batches are refused"
    return f"team=research has spent {share * 100:.4g}% of its monthly budget"  # humanizePercentage


def _case(spend: float) -> list[dict[str, object]]:
    labels = {"key": "team", "value": "research"}
    share = spend / 100
    return [
        {
            "eval_time": "10m",
            "alertname": alert,
            "exp_alerts": [
                {"exp_labels": {**labels, "severity": severity}, "exp_annotations": {"summary": _summary(alert, share)}}
            ]
            if fires
            else [],
        }
        for (alert, fires), severity in zip(_expected(share).items(), ("info", "warning", "critical"), strict=True)
    ]


def _group(spend: float) -> dict[str, object]:
    series = 'batchgate_tag_{}{{key="team", value="research", instance="api:8000"}}'
    return {
        "interval": "1m",
        "input_series": [
            {"series": series.format("budget_usd"), "values": "100x15"},
            {"series": series.format("month_spend_usd"), "values": f"{spend}x15"},
        ],
        "alert_rule_test": _case(spend),
    }


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not on PATH")
def test_tag_budget_alerts_fire_at_50_80_100_percent(tmp_path: Path) -> None:
    spends = [0, 49.99, 50, 79.99, 80, 99.5, 100, 130]  # USD of a 100 USD budget
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [_group(spend) for spend in spends]}
    path = tmp_path / "budget_test.yml"
    path.write_text(yaml.safe_dump(test))
    promtool = shutil.which("promtool")
    assert promtool is not None
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
