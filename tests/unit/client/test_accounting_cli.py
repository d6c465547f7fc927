"""The user's `accounting` commands: their imports stay light, dates parse, the report sums exactly."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest
from rich.console import Console

from gateway.client.accounting import parse_when
from gateway.client.errors import UsageProblem
from gateway.client.report import report_csv, report_table, savings_rate, totals

CLIENT_CLI = Path(__file__).parents[3] / "gateway" / "client"
MODULES = ("accounting.py", "accounting_api.py", "report.py")
LIGHT = {"__future__", "ast", "csv", "io", "sys", "datetime", "decimal", "pathlib", "typing", "collections"}
LIGHT |= {"click", "httpx", "msgspec", "rich"}

ROWS = [
    {"team": "a", "batches": 2, "input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5,
     "list_cost_usd": "0.0000003", "batch_cost_usd": "0.00000015", "savings_usd": "0.00000015"},
    {"team": "b", "batches": 1, "input_tokens": 7, "cached_input_tokens": 2, "output_tokens": 1,
     "list_cost_usd": "0.1", "batch_cost_usd": "0.08", "savings_usd": "0.02"},
]  # fmt: skip


@pytest.mark.parametrize("module", MODULES)
def test_modules_import_neither_the_server_nor_redis(module: str) -> None:
    """The user's CLI must start fast and install light: no litestar, redis, accounting or server modules."""
    tree = ast.parse((CLIENT_CLI / module).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported if not name.startswith("gateway.client")}
    assert roots <= LIGHT, f"{module} imports {roots - LIGHT}"


@pytest.mark.parametrize(
    ("text", "unix"),
    [("2026-11-01", 1_793_491_200), ("2026-11-01T12:00:00Z", 1_793_534_400), ("1793491200", 1_793_491_200)],
)
def test_dates_are_utc(text: str, unix: int) -> None:
    assert parse_when(text, "--since") == unix


def test_a_bad_date_is_a_usage_error() -> None:
    with pytest.raises(UsageProblem, match="--until"):
        parse_when("next week", "--until")


def test_totals_are_exact_and_the_savings_rate_is_savings_over_list() -> None:
    total = totals(ROWS)
    assert str(total["list_cost_usd"]) == "0.1000003"
    assert total["batches"] == 3
    assert savings_rate(total) == "20.0%"  # 0.02000015 / 0.1000003
    assert savings_rate({"list_cost_usd": "0", "savings_usd": "0"}) == ""


def test_csv_and_table_carry_groups_and_a_total_row() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(ROWS, ["team"]))))
    assert [row["team"] for row in rows] == ["a", "b", "total"]
    assert rows[0]["savings_rate"] == "50.0%"
    assert rows[-1]["batch_cost_usd"] == "0.08000015"
    console = Console(width=200, record=True)
    console.print(report_table(ROWS, ["team"]))
    text = console.export_text()
    assert "total" in text
    assert "0.08000015" in text
