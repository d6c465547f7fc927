"""The summary report for people: one row per group, a total row, and the savings rate (savings / list cost)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["COLUMNS", "report_csv", "report_table", "savings_rate", "totals"]

# (field of a summary row, heading); money is summed as Decimal from the server's decimal strings.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("batches", "batches"),
    ("input_tokens", "input tokens"),
    ("cached_input_tokens", "cached"),
    ("output_tokens", "output tokens"),
    ("list_cost_usd", "list USD"),
    ("batch_cost_usd", "batch USD"),
    ("savings_usd", "savings USD"),
)
_MONEY = frozenset({"list_cost_usd", "batch_cost_usd", "savings_usd"})


def _amount(row: Mapping[str, Any], field: str) -> Decimal:
    return Decimal(str(row.get(field) or 0))


def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Each column summed over the rows, exactly."""
    return {field: sum((_amount(row, field) for row in rows), Decimal(0)) for field, _ in COLUMNS}


def savings_rate(row: Mapping[str, Any]) -> str:
    """Savings as a share of the list price, e.g. `50.0%`; empty when nothing was priced."""
    list_usd = _amount(row, "list_cost_usd")
    if list_usd <= 0:
        return ""
    return f"{_amount(row, 'savings_usd') / list_usd * 100:.1f}%"


def _cells(row: Mapping[str, Any]) -> list[str]:
    return [format(_amount(row, field), "f") if field in _MONEY else str(row.get(field, 0)) for field, _ in COLUMNS]


def report_table(rows: Sequence[Mapping[str, Any]], group_by: Sequence[str]) -> Table:
    """One row per group and, when grouped, a footer with the totals (ungrouped, the one row is the total)."""
    table = Table(*group_by, *(heading for _, heading in COLUMNS), "savings rate", show_footer=bool(group_by))
    for column in table.columns[len(group_by) :]:
        column.justify = "right"
    total = totals(rows)
    footer = ["total", *([""] * (len(group_by) - 1)), *_cells(total), savings_rate(total)]
    for column, text in zip(table.columns, footer[-len(table.columns) :], strict=True):
        column.footer = Text(text, style="bold")
    for row in rows:
        # Text, not str: a tag value like "[bold]x" is data, never Rich markup.
        values = [str(row.get(name, "")) for name in group_by] + [*_cells(row), savings_rate(row)]
        table.add_row(*(Text(value) for value in values))
    return table


def report_csv(rows: Sequence[Mapping[str, Any]], group_by: Sequence[str]) -> str:
    """The rows as CSV (group keys, the summed fields by their API names, savings_rate), then a total row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*group_by, *(field for field, _ in COLUMNS), "savings_rate"])
    for row in rows:
        writer.writerow([*(row.get(name, "") for name in group_by), *_cells(row), savings_rate(row)])
    total = totals(rows)
    label = ["total", *([""] * (len(group_by) - 1))] if group_by else []
    writer.writerow([*label, *_cells(total), savings_rate(total)])
    return buffer.getvalue()
