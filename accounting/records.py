"""The ledger's wire shapes (ARCHITECTURE.md §2.2): the one accounting record, a page, a summary row, CSV.

`AccountingRecord` is the single list of accounting fields. Every other list derives from it: the summed
fields of a summary row and of the day totals (fields declared `Requests`, `Tokens` or `Money`), the CSV
columns, the token kinds of the metrics and the tag keys an operator may not declare. Its field order is
the JSON order of `/v1/accounting/batches`.

Money fields are `Decimal`, which msgspec writes as decimal strings in JSON and in Redis. Records
tolerate unknown fields and give new fields defaults, so replicas of different versions coexist.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Literal, cast, get_args, get_origin

import msgspec

from accounting.charges import Charge
from accounting.cost import ZERO, Cost
from accounting.route_costs import RouteCost
from accounting.tags import METRIC_LABELS, UNTAGGED
from accounting.usage import UsageTotals
from gateway.core.page import Page

__all__ = [
    "CSV_FIELDS",
    "MONEY_FIELDS",
    "NESTED_FIELDS",
    "RECORD_FIELDS",
    "REQUEST_FIELDS",
    "RESERVED_TAG_KEYS",
    "SUMMARY_COUNTS",
    "SUMMED_FIELDS",
    "TOKEN_FIELDS",
    "AccountingRecord",
    "LedgerPage",
    "LedgerRecord",
    "Money",
    "Requests",
    "SettledStatus",
    "SummaryRow",
    "Tokens",
    "csv_header",
    "csv_row",
    "day_of",
    "month_of",
    "new_summary_row",
    "to_csv",
]

SettledStatus = Literal["completed", "failed", "expired", "cancelled"]

# What a summary adds up, marked on the field itself so a new field is summed by declaring it so.
Requests = Annotated[int, msgspec.Meta(extra={"summed": "requests"})]
Tokens = Annotated[int, msgspec.Meta(extra={"summed": "tokens"})]
Money = Annotated[Decimal, msgspec.Meta(extra={"summed": "money"})]


class AccountingRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A batch's accounting: settled (from the ledger) or in flight (`settled_at` null, running counts).

    `priced` is False when the model had no list price: tokens count, money is zero.
    """

    batch_id: str
    tenant: str
    provider: str
    model: str
    endpoint: str
    status: str
    requests_completed: Requests = 0
    requests_failed: Requests = 0
    input_tokens: Tokens = 0
    cached_input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    list_cost_usd: Money = ZERO
    batch_cost_usd: Money = ZERO
    savings_usd: Money = ZERO
    priced: bool = True
    settled_at: int | None = None
    estimated_max_cost_usd: Decimal | None = None
    # Unix seconds until which the batch waited for an off-peak price window (None: it did not wait).
    deferred_until: int | None = None
    # Cost allocation tags (accounting.tags): each declared key → its value or `untagged`.
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    # The figures per route the batch ran on (accounting.route_costs), in route order; empty when it ran on
    # none (refused before routing) and in records settled before routes existed.
    routes: tuple[RouteCost, ...] = ()


class LedgerRecord(AccountingRecord, frozen=True, kw_only=True):
    """One settled batch as the ledger stores it: the accounting record, settled, plus its cost by token kind.

    The two redeclared fields narrow their type and keep their place in the field order.
    """

    status: SettledStatus
    settled_at: int = 0
    # The cost by token kind (accounting.charges); empty in records settled before it was kept.
    charges: tuple[Charge, ...] = ()

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
            **msgspec.structs.asdict(usage),  # its counts are record fields of the same names
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

    def accounting(self, tag_keys: Sequence[str]) -> AccountingRecord:
        """The contract's record: without the per-kind split (FOCUS has it), with a tag for every declared key.

        A record settled before a key was declared shows that key `untagged`, as its CSV column does.
        """
        fields = {name: getattr(self, name) for name in RECORD_FIELDS}
        fields["tags"] = {key: self.tags.get(key, UNTAGGED) for key in tag_keys}
        return AccountingRecord(**fields)


def _summed(kind: str) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in msgspec.structs.fields(AccountingRecord)
        for meta in get_args(field.type)[1:]
        if isinstance(meta, msgspec.Meta) and (meta.extra or {}).get("summed") == kind
    )


RECORD_FIELDS: tuple[str, ...] = AccountingRecord.__struct_fields__
REQUEST_FIELDS = _summed("requests")
TOKEN_FIELDS = _summed("tokens")
MONEY_FIELDS = _summed("money")
SUMMED_FIELDS = REQUEST_FIELDS + TOKEN_FIELDS + MONEY_FIELDS
# A summary row's counts of batches, before the summed fields.
SUMMARY_COUNTS: tuple[str, ...] = ("batches", "unpriced_batches")
# Fields holding a container: the CSV gives tags a column per key and leaves the rest to other exports.
NESTED_FIELDS: tuple[str, ...] = tuple(
    field.name for field in msgspec.structs.fields(LedgerRecord) if get_origin(field.type) in (dict, list, tuple)
)

# Tag keys an operator may not declare: a tag column, group-by key or label of such a name would be ambiguous.
RESERVED_TAG_KEYS = frozenset((*LedgerRecord.__struct_fields__, *SUMMARY_COUNTS, *METRIC_LABELS))


def _csv_fields() -> tuple[str, ...]:
    names = [name for name in LedgerRecord.__struct_fields__ if name not in NESTED_FIELDS]
    # CSV files have had `settled_at` right after the money since the first export; the JSON record has
    # `priced` there. Both orders are contracts, so the CSV moves this one column.
    names.remove("settled_at")
    names.insert(names.index("priced"), "settled_at")
    return (*names, "routes")


# CSV columns: every record field but the nested ones, then `routes` as one JSON column; tags follow as one
# column per declared key.
CSV_FIELDS = _csv_fields()


class LedgerPage(Page[LedgerRecord], frozen=True, kw_only=True):
    """A page of settled records, newest first; `after=last_id` asks for the next one."""


class SummaryRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Sums over a group: the batch counts here, then every `SUMMED_FIELDS` field (added by `new_summary_row`).

    Group-by keys not asked for are None and left out of the JSON. `tags` holds the group's values of the
    tag keys grouped by; the HTTP edge puts them beside tenant, provider and model, by name (their names
    are the operator's, so they cannot be fields here).
    """

    tenant: str | None = None
    provider: str | None = None
    model: str | None = None
    batches: int
    unpriced_batches: int
    tags: dict[str, str] | None = None


_SUMS = {field.name: field.type for field in msgspec.structs.fields(AccountingRecord) if field.name in SUMMED_FIELDS}
_SUMMARY_ROW = msgspec.defstruct(
    "SummaryRow",
    [(name, _SUMS[name]) for name in SUMMED_FIELDS],
    bases=(SummaryRow,),
    kw_only=True,
    omit_defaults=True,
    module=__name__,
)


def new_summary_row(
    group: Mapping[str, str], tags: dict[str, str] | None, sums: Mapping[str, int | Decimal] | None = None
) -> SummaryRow:
    """The row of a group (its group-by keys → values) with `sums` by field name; every one left out is zero."""
    zeros: dict[str, object] = dict.fromkeys((*SUMMARY_COUNTS, *REQUEST_FIELDS, *TOKEN_FIELDS), 0)
    zeros |= dict.fromkeys(MONEY_FIELDS, ZERO)
    return cast("SummaryRow", msgspec.convert(zeros | dict(sums or {}) | dict(group) | {"tags": tags}, _SUMMARY_ROW))


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
    return _line((*CSV_FIELDS, *tag_keys))


def csv_row(record: LedgerRecord, tag_keys: Sequence[str] = ()) -> str:
    tags = (record.tags.get(key, UNTAGGED) for key in tag_keys)
    return _line((*(_cell(getattr(record, name)) for name in CSV_FIELDS), *tags))


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
