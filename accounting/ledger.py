"""The settlement ledger in Redis: exactly one record per batch, indexes, exact running totals.

`settle` is one Lua script (see `accounting.lua`): if the record key exists the batch was settled and
nothing changes; otherwise the record, both indexes, the day's totals, the month's spend and the
release of the batch's budget reservation are written together.

Exactness of totals: records keep unrounded Decimal amounts. Running totals (per UTC day, keyed by
tenant/provider/model; per tenant and UTC month for budgets) are decimal strings added digit by digit
inside Lua, so they equal the Decimal sum of the records to the last digit. The summary API sums the
records of the requested range themselves (any since/until, not only whole days); the day totals serve
whole-day reporting in O(1) per day and are tested against the records.

Indexes are lexicographic sorted sets of `<settled_at:012d>:<batch_id>`: one ZREVRANGEBYLEX answers a
page newest first, bounded by since (inclusive) / until (exclusive) and the `after` cursor at once.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import msgspec

from accounting import keys, lua
from accounting.records import (
    MONEY_FIELDS,
    REQUEST_FIELDS,
    TOKEN_FIELDS,
    LedgerPage,
    LedgerRecord,
    SummaryRow,
    day_of,
    month_of,
)
from accounting.summary import GroupBy, Summer, rows_from_totals
from accounting.tags import tag_field
from gateway.core.redis_types import RedisClient

__all__ = ["Ledger", "plain"]

_ENCODER = msgspec.json.Encoder()
_RECORD = msgspec.json.Decoder(LedgerRecord)
_SCAN_CHUNK = 500
_OWNER_MOVED = -1  # the release script's reply when the reservation's owner is not the tenant read before


def plain(amount: Decimal) -> str:
    """An amount as a plain decimal string for Lua ("0.00002800", never "2.8E-5"); negatives are refused."""
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amounts in the ledger are finite and >= 0, got {amount}")
    return format(amount, "f")


def _member(record: LedgerRecord) -> str:
    return f"{record.settled_at:012d}:{record.batch_id}"


def _batch_id(record: LedgerRecord) -> str:
    return record.batch_id


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _total_args(record: LedgerRecord) -> list[str | int]:
    def field(name: str) -> str:
        return _ENCODER.encode([record.tenant, record.provider, record.model, name]).decode()

    ints = {"batches": 1, "unpriced_batches": 0 if record.priced else 1}
    ints |= {name: getattr(record, name) for name in (*REQUEST_FIELDS, *TOKEN_FIELDS)}
    args: list[str | int] = [len(ints)]
    for name, count in ints.items():
        args += [field(name), count]
    for name in MONEY_FIELDS:
        args += [field(name), plain(getattr(record, name))]
    return args


def _tag_keys(record: LedgerRecord, month: str) -> list[str]:
    """The settle script's optional KEYS for a tagged record: tag spend, tag owners, each tag's reservations."""
    if not record.tags:
        return []
    reservations = [keys.tag_reservations(tag_field(key, value)) for key, value in sorted(record.tags.items())]
    return [keys.tag_month_spend(month), keys.tag_reservation_owners(), *reservations]


class Ledger:
    """Settled batches and budget reservations. One instance per Redis client; scripts register once."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def settle(self, record: LedgerRecord) -> bool:
        """Write `record` unless its batch was settled before; True when this call settled it."""
        month = month_of(record.settled_at)
        script_keys = [
            keys.record(record.batch_id),
            keys.global_index(),
            keys.tenant_index(record.tenant),
            keys.day_totals(day_of(record.settled_at)),
            keys.month_spend(month),
            keys.tenant_reservations(record.tenant),
            keys.reservation_owners(),
            *_tag_keys(record, month),
        ]
        head: list[bytes | str | int] = [_ENCODER.encode(record), _member(record), record.tenant, record.batch_id]
        args = [*head, plain(record.batch_cost_usd), *_total_args(record)]
        return bool(await lua.SETTLE(self._redis, keys=script_keys, args=args))

    async def get(self, batch_id: str, tenant: str | None = None) -> LedgerRecord | None:
        """The record of `batch_id`; None when unknown or (with `tenant`) another tenant's."""
        raw = await self._redis.get(keys.record(batch_id))
        if raw is None:
            return None
        record = _RECORD.decode(raw)
        return record if tenant is None or record.tenant == tenant else None

    async def _records(self, members: Sequence[bytes | str]) -> builtins.list[LedgerRecord]:
        if not members:
            return []
        ids = [_text(member).split(":", 1)[1] for member in members]
        raws = await self._redis.mget([keys.record(batch_id) for batch_id in ids])
        return [_RECORD.decode(raw) for raw in raws if raw is not None]

    async def list(
        self,
        tenant: str | None = None,
        *,
        after: str | None = None,
        limit: int = 20,
        since: int | None = None,
        until: int | None = None,
    ) -> LedgerPage:
        """A page of records, newest settlement first. `tenant=None` is the admin view of every tenant."""
        index = keys.global_index() if tenant is None else keys.tenant_index(tenant)
        high = "+" if until is None else f"({until:012d}"
        if after is not None:
            cursor = await self.get(after, tenant)
            if cursor is None:
                return LedgerPage.of((), has_more=False)
            high = min(high, f"({_member(cursor)}") if high != "+" else f"({_member(cursor)}"
        low = "-" if since is None else f"[{since:012d}"
        members = await self._redis.zrevrangebylex(index, high, low, start=0, num=limit + 1)
        data = await self._records(members[:limit])
        return LedgerPage.of(data, has_more=len(members) > limit, id_of=_batch_id)

    async def iter_records(
        self, tenant: str | None = None, *, since: int | None = None, until: int | None = None
    ) -> AsyncIterator[LedgerRecord]:
        """Every record in [since, until), oldest first, read in chunks (for CSV export and summaries)."""
        index = keys.global_index() if tenant is None else keys.tenant_index(tenant)
        low = "-" if since is None else f"[{since:012d}"
        high = "+" if until is None else f"({until:012d}"
        while True:
            members = await self._redis.zrangebylex(index, low, high, start=0, num=_SCAN_CHUNK)
            for record in await self._records(members):
                yield record
            if len(members) < _SCAN_CHUNK:
                return
            low = f"({_text(members[-1])}"

    async def summary(
        self,
        tenant: str | None = None,
        group_by: Sequence[str] = (),
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> builtins.list[SummaryRow]:
        """Exact sums of the records settled in [since, until), one row per group."""
        summer = Summer(group_by)
        async for record in self.iter_records(tenant, since=since, until=until):
            summer.add_record(record)
        return summer.rows()

    async def day_totals(
        self, day: str, group_by: Sequence[GroupBy] = ("tenant", "provider", "model")
    ) -> builtins.list[SummaryRow]:
        """The running totals of one UTC day (`YYYY-MM-DD`), kept by `settle`, all tenants."""
        return rows_from_totals(await self._redis.hgetall(keys.day_totals(day)), group_by)

    async def reserve(self, tenant: str, batch_id: str, estimate_usd: Decimal, month: str) -> None:
        """Hold `estimate_usd` of `tenant`'s `month` budget for an in-flight batch (replaces a previous hold)."""
        script_keys = [keys.tenant_reservations(tenant), keys.reservation_owners()]
        await lua.RESERVE(self._redis, keys=script_keys, args=[tenant, month, batch_id, plain(estimate_usd)])

    async def release(self, batch_id: str) -> bool:
        """Drop the batch's reservation (settling drops it too); True when there was one."""
        owners = keys.reservation_owners()
        while True:  # re-read when the reservation moved to another tenant between the two calls (rare)
            tenant = await self._redis.hget(owners, batch_id)
            if tenant is None:
                return False
            script_keys = [owners, keys.tenant_reservations(_text(tenant))]
            released = await lua.RELEASE(self._redis, keys=script_keys, args=[batch_id, tenant])
            if released != _OWNER_MOVED:
                return bool(released)

    async def month_spend(self, tenant: str, month: str) -> tuple[Decimal, Decimal]:
        """(settled, reserved) USD of `tenant` in UTC `month` (`YYYY-MM`), exact."""
        script_keys = [keys.month_spend(month), keys.tenant_reservations(tenant)]
        settled, reserved = await lua.MONTH_SPEND(self._redis, keys=script_keys, args=[tenant, month])
        return Decimal(_text(settled)), Decimal(_text(reserved))

    async def reserve_within(
        self, tenant: str, batch_id: str, estimate_usd: Decimal, month: str, budget_usd: Decimal
    ) -> tuple[bool, Decimal, Decimal]:
        """Reserve only if settled + reserved + estimate ≤ budget, atomically. → (granted, settled, reserved)."""
        script_keys = [keys.month_spend(month), keys.tenant_reservations(tenant), keys.reservation_owners()]
        args = [tenant, month, batch_id, plain(estimate_usd), plain(budget_usd)]
        granted, settled, reserved = await lua.CHECK_BUDGET(self._redis, keys=script_keys, args=args)
        return bool(granted), Decimal(_text(settled)), Decimal(_text(reserved))
