"""Summing ledger records into summary rows, grouped by any of tenant, provider, model and tag keys.

Sums are exact: Decimal addition of unrounded record amounts (the default 28-digit context would round
long sums, so a wide private context is used, which traps rather than rounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation
from operator import add, attrgetter
from typing import Literal, NamedTuple, get_args

import msgspec

from accounting.cost import ZERO
from accounting.records import (
    MONEY_FIELDS,
    REQUEST_FIELDS,
    SUMMARY_COUNTS,
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
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])
_KEYS = msgspec.json.Decoder(tuple[str, str, str, str])
# A group's running sums, a list in this order: the batch counts, the record's counts, then its money.
_SUMS = (*SUMMARY_COUNTS, *REQUEST_FIELDS, *TOKEN_FIELDS, *MONEY_FIELDS)
_AT = {name: index for index, name in enumerate(_SUMS)}
_FIRST_COUNT, _FIRST_MONEY = len(SUMMARY_COUNTS), len(_SUMS) - len(MONEY_FIELDS)
_COUNTS_OF = attrgetter(*REQUEST_FIELDS, *TOKEN_FIELDS)
_MONEY_OF = attrgetter(*MONEY_FIELDS)


class _Group(NamedTuple):
    keys: dict[str, str]  # the group-by keys of tenant, provider and model asked for
    tags: dict[str, str] | None
    sums: list[int | Decimal]


class Summer:
    """Accumulates amounts into one row per group; rows come out sorted by their group keys.

    `group_by` names any of tenant, provider, model and declared tag keys (a record without a value for a
    tag key counts as `untagged`). Sums run in plain lists (a record adds a dozen fields; attribute writes
    on a row for each would double the cost) and become rows at the end.
    """

    def __init__(self, group_by: Sequence[str]) -> None:
        self._group_by = tuple(dict.fromkeys(group_by))  # keep the caller's order, drop repeats
        self._tag_keys = tuple(name for name in self._group_by if name not in CORE_GROUPS)
        self._groups: dict[tuple[str, ...], _Group] = {}

    def _sums(self, tenant: str, provider: str, model: str, tags: Mapping[str, str] = _NO_TAGS) -> list[int | Decimal]:
        by = self._group_by
        tag_values = tuple(tags.get(name, UNTAGGED) for name in self._tag_keys)
        core = (tenant if "tenant" in by else "", provider if "provider" in by else "", model if "model" in by else "")
        key = core + tag_values
        group = self._groups.get(key)
        if group is None:
            names = {"tenant": tenant, "provider": provider, "model": model}
            keys = {name: names[name] for name in by if name in names}
            tagged = dict(zip(self._tag_keys, tag_values, strict=True)) if self._tag_keys else None
            zeros: list[int | Decimal] = [0] * _FIRST_MONEY + [ZERO] * len(MONEY_FIELDS)
            group = self._groups[key] = _Group(keys, tagged, zeros)
        return group.sums

    def add(self, tenant: str, provider: str, model: str, field: str, amount: int | Decimal) -> None:
        sums = self._sums(tenant, provider, model)
        at = _AT[field]
        sums[at] = _EXACT.add(sums[at], amount) if isinstance(amount, Decimal) else sums[at] + amount

    def add_record(self, record: LedgerRecord) -> None:
        sums = self._sums(record.tenant, record.provider, record.model, record.tags)
        sums[0] += 1
        sums[1] += 0 if record.priced else 1
        sums[_FIRST_COUNT:_FIRST_MONEY] = map(add, sums[_FIRST_COUNT:_FIRST_MONEY], _COUNTS_OF(record))
        sums[_FIRST_MONEY:] = map(_EXACT.add, sums[_FIRST_MONEY:], _MONEY_OF(record))

    def add_records(self, records: Iterable[LedgerRecord]) -> None:
        for record in records:
            self.add_record(record)

    def rows(self) -> list[SummaryRow]:
        groups = (self._groups[key] for key in sorted(self._groups))
        return [new_summary_row(group.keys, group.tags, dict(zip(_SUMS, group.sums, strict=True))) for group in groups]


def rows_from_totals(totals: Mapping[bytes | str, bytes | str], group_by: Sequence[str]) -> list[SummaryRow]:
    """Rows from a day-totals hash (fields are JSON `[tenant, provider, model, name]`)."""
    summer = Summer(group_by)
    for raw_field, raw_value in totals.items():
        tenant, provider, model, name = _KEYS.decode(raw_field)
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        summer.add(tenant, provider, model, name, Decimal(value) if name in MONEY_FIELDS else int(value))
    return summer.rows()
