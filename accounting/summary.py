"""Summing ledger records into summary rows, grouped by any of tenant, provider, model and tag keys.

Sums are exact: Decimal addition of unrounded record amounts (the default 28-digit context would round
long sums, so a wide private context is used, which traps rather than rounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Literal, get_args

import msgspec

from accounting.records import (
    MONEY_FIELDS,
    REQUEST_FIELDS,
    TOKEN_FIELDS,
    LedgerRecord,
    SummaryRow,
    new_summary_row,
)
from accounting.tags import UNTAGGED

__all__ = ["CORE_GROUPS", "GroupBy", "Summer", "rows_from_totals"]

GroupBy = Literal["tenant", "provider", "model"]
CORE_GROUPS: tuple[str, ...] = get_args(GroupBy)
_NO_TAGS: Mapping[str, str] = {}
_COUNTS = REQUEST_FIELDS + TOKEN_FIELDS
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])
_KEYS = msgspec.json.Decoder(tuple[str, str, str, str])


class Summer:
    """Accumulates amounts into one row per group; rows come out sorted by their group keys.

    `group_by` names any of tenant, provider, model and declared tag keys (a record without a value for a
    tag key counts as `untagged`).
    """

    def __init__(self, group_by: Sequence[str]) -> None:
        self._group_by = tuple(dict.fromkeys(group_by))  # keep the caller's order, drop repeats
        self._tag_keys = tuple(name for name in self._group_by if name not in CORE_GROUPS)
        self._rows: dict[tuple[str, ...], SummaryRow] = {}

    def _row(self, tenant: str, provider: str, model: str, tags: Mapping[str, str] = _NO_TAGS) -> SummaryRow:
        by = self._group_by
        tag_values = tuple(tags.get(name, UNTAGGED) for name in self._tag_keys)
        core = (tenant if "tenant" in by else "", provider if "provider" in by else "", model if "model" in by else "")
        key = core + tag_values
        row = self._rows.get(key)
        if row is None:
            names = {"tenant": tenant, "provider": provider, "model": model}
            group = {name: names[name] for name in by if name in names}
            tagged = dict(zip(self._tag_keys, tag_values, strict=True)) if self._tag_keys else None
            row = self._rows[key] = new_summary_row(group, tagged)
        return row

    def add(self, tenant: str, provider: str, model: str, field: str, amount: int | Decimal) -> None:
        row = self._row(tenant, provider, model)
        current = getattr(row, field)
        setattr(row, field, _EXACT.add(current, amount) if isinstance(amount, Decimal) else current + amount)

    def add_record(self, record: LedgerRecord) -> None:
        row = self._row(record.tenant, record.provider, record.model, record.tags)
        row.batches += 1
        row.unpriced_batches += 0 if record.priced else 1
        for name in _COUNTS:
            setattr(row, name, getattr(row, name) + getattr(record, name))
        for name in MONEY_FIELDS:
            setattr(row, name, _EXACT.add(getattr(row, name), getattr(record, name)))

    def add_records(self, records: Iterable[LedgerRecord]) -> None:
        for record in records:
            self.add_record(record)

    def rows(self) -> list[SummaryRow]:
        return [self._rows[key] for key in sorted(self._rows)]


def rows_from_totals(totals: Mapping[bytes | str, bytes | str], group_by: Sequence[str]) -> list[SummaryRow]:
    """Rows from a day-totals hash (fields are JSON `[tenant, provider, model, name]`)."""
    summer = Summer(group_by)
    for raw_field, raw_value in totals.items():
        tenant, provider, model, name = _KEYS.decode(raw_field)
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        summer.add(tenant, provider, model, name, Decimal(value) if name in MONEY_FIELDS else int(value))
    return summer.rows()
