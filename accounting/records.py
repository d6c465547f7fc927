"""The ledger's wire shapes (ARCHITECTURE.md §2.2): a settled batch's record, a page, a summary row, CSV.

Money fields are `Decimal`, which msgspec writes as decimal strings in JSON and in Redis. Records
tolerate unknown fields and give new fields defaults, so replicas of different versions coexist.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Literal

import msgspec

from accounting.charges import Charge
from accounting.cost import ZERO, Cost
from accounting.route_costs import RouteCost
from accounting.tags import UNTAGGED
from accounting.usage import UsageTotals

__all__ = [
    "LedgerPage",
    "LedgerRecord",
    "SettledStatus",
    "SummaryRow",
    "csv_header",
    "csv_row",
    "day_of",
    "month_of",
    "to_csv",
]

SettledStatus = Literal["completed", "failed", "expired", "cancelled"]


class LedgerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One settled batch. `priced` is False when the model had no list price: tokens count, money is zero."""

    batch_id: str
    tenant: str
    provider: str
    model: str
    endpoint: str
    status: SettledStatus
    requests_completed: int = 0
    requests_failed: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    list_cost_usd: Decimal = ZERO
    batch_cost_usd: Decimal = ZERO
    savings_usd: Decimal = ZERO
    settled_at: int = 0
    priced: bool = True
    estimated_max_cost_usd: Decimal | None = None
    # Unix seconds until which the batch waited for an off-peak price window (None: it did not wait).
    deferred_until: int | None = None
    # Cost allocation tags (accounting.tags): each declared key → its value or `untagged`.
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    # The cost by token kind (accounting.charges); empty in records settled before it was kept.
    charges: tuple[Charge, ...] = ()
    # The figures per route the batch ran on (accounting.route_costs), in route order; empty when it ran on
    # none (refused before routing) and in records settled before routes existed.
    routes: tuple[RouteCost, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        batch_id: str,
        tenant: str,
        provider: str,
        model: str,
        endpoint: str,
        status: SettledStatus,
        usage: UsageTotals,
        cost: Cost,
        settled_at: int | None = None,
        estimated_max_cost_usd: Decimal | None = None,
        tags: dict[str, str] | None = None,
        charges: tuple[Charge, ...] = (),
        routes: tuple[RouteCost, ...] = (),
        deferred_until: int | None = None,
    ) -> LedgerRecord:
        """A record from a batch's summed usage and its cost; `settled_at` defaults to now."""
        return cls(
            batch_id=batch_id,
            tenant=tenant,
            provider=provider,
            model=model,
            endpoint=endpoint,
            status=status,
            requests_completed=usage.requests_completed,
            requests_failed=usage.requests_failed,
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            list_cost_usd=cost.list_usd,
            batch_cost_usd=cost.batch_usd,
            savings_usd=cost.savings_usd,
            settled_at=int(time.time()) if settled_at is None else settled_at,
            priced=cost.priced,
            estimated_max_cost_usd=estimated_max_cost_usd,
            deferred_until=deferred_until,
            tags=dict(tags or {}),
            charges=charges,
            routes=routes,
        )


class LedgerPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page like OpenAI's lists; `after=last_id` asks for the next one."""

    data: list[LedgerRecord]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: Literal["list"] = "list"


class SummaryRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Sums over a group. Group-by keys not asked for are None and left out of the JSON.

    `tags` holds the group's values of the tag keys grouped by; the HTTP edge puts them beside tenant,
    provider and model, by name (their names are the operator's, so they cannot be fields here).
    """

    tenant: str | None = None
    provider: str | None = None
    model: str | None = None
    batches: int
    unpriced_batches: int
    requests_completed: int
    requests_failed: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    list_cost_usd: Decimal
    batch_cost_usd: Decimal
    savings_usd: Decimal
    tags: dict[str, str] | None = None


# CSV columns: every record field but tags and charges (`routes` is one JSON column, the last field); tags
# follow as one column per declared key.
_FIELDS: tuple[str, ...] = tuple(name for name in LedgerRecord.__struct_fields__ if name not in ("tags", "charges"))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # plain notation: spreadsheets misread 1E-8
    if isinstance(value, tuple):  # `routes`: a JSON array, money as decimal strings
        return msgspec.json.encode(value).decode()
    return str(value)


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def csv_header(tag_keys: Sequence[str] = ()) -> str:
    return _line((*_FIELDS, *tag_keys))


def csv_row(record: LedgerRecord, tag_keys: Sequence[str] = ()) -> str:
    tags = (record.tags.get(key, UNTAGGED) for key in tag_keys)
    return _line((*(_cell(getattr(record, name)) for name in _FIELDS), *tags))


def to_csv(records: Iterable[LedgerRecord], tag_keys: Sequence[str] = ()) -> Iterator[str]:
    """Streams CSV text: one header row of the field names (then one per tag key), then one row per record."""
    yield csv_header(tag_keys)
    for record in records:
        yield csv_row(record, tag_keys)


def day_of(unix_seconds: int) -> str:
    """The UTC day `YYYY-MM-DD` of a timestamp: the ledger's totals bucket."""
    return time.strftime("%Y-%m-%d", time.gmtime(unix_seconds))


def month_of(unix_seconds: int) -> str:
    """The UTC month `YYYY-MM` of a timestamp: the budget period."""
    return time.strftime("%Y-%m", time.gmtime(unix_seconds))
