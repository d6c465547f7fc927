"""Monthly budgets per tag value (`[[accounting.tag_budgets]]`), held like tenant budgets (accounting.budget).

A batch reserves its upper cost estimate against the budget of each of its budgeted tag values, in one Lua
script that grants all of them or none; settlement (the ledger's settle script) adds its real cost to every
one of its tags' month spend and drops the reservations in the same step. Spend is kept for every tag value,
budgeted or not, so a budget added mid-month starts from the month's true spend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

from accounting import keys, lua
from accounting.ledger import plain
from accounting.tags import TagBudget
from gateway.core.redis_types import RedisClient

__all__ = ["TagBudget", "TagBudgetDecision", "TagBudgets", "budgets_for"]

_ENTRY_MOVED = -1  # the release script's reply when the owner entry is not the one read before


class TagBudgetDecision(msgspec.Struct, frozen=True, kw_only=True):
    """Admitted, or refused by `refused` (the first budget the estimate would cross) as seen at the decision."""

    allowed: bool
    refused: TagBudget | None = None
    settled_usd: Decimal = Decimal(0)
    reserved_usd: Decimal = Decimal(0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def budgets_for(tags: Mapping[str, str], budgets: Sequence[TagBudget]) -> list[TagBudget]:
    """The budgets that apply to a batch with `tags`."""
    return [budget for budget in budgets if tags.get(budget.key) == budget.value]


class TagBudgets:
    """Reservations against tag budgets and the month spend of tag values. Scripts register once."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def reserve_within(
        self, batch_id: str, tags: Mapping[str, str], estimate_usd: Decimal, month: str, budgets: Sequence[TagBudget]
    ) -> TagBudgetDecision:
        """Reserve `estimate_usd` on every budget that applies to `tags`, or on none if one would be crossed."""
        applying = budgets_for(tags, budgets)
        if not applying:
            return TagBudgetDecision(allowed=True)
        entry = " ".join(budget.field for budget in applying)
        script_keys = [keys.tag_month_spend(month), keys.tag_reservation_owners()]
        script_keys += [keys.tag_reservations(budget.field) for budget in applying]
        args: list[str] = [month, batch_id, plain(estimate_usd), entry]
        for budget in applying:
            args += [budget.field, plain(budget.monthly_usd)]
        reply = await lua.CHECK_TAG_BUDGETS(self._redis, keys=script_keys, args=args)
        if int(reply[0]) == 1:
            return TagBudgetDecision(allowed=True)
        refused = applying[int(reply[1]) - 1]
        settled, reserved = Decimal(_text(reply[2])), Decimal(_text(reply[3]))
        return TagBudgetDecision(allowed=False, refused=refused, settled_usd=settled, reserved_usd=reserved)

    async def release(self, batch_id: str) -> bool:
        """Drop the batch's tag reservations (settling drops them too); True when it had some."""
        owners = keys.tag_reservation_owners()
        while True:  # re-read when the entry changed between the two calls (a re-reservation; rare)
            entry = await self._redis.hget(owners, batch_id)
            if entry is None:
                return False
            fields = _text(entry).split()
            script_keys = [owners, *(keys.tag_reservations(field) for field in fields)]
            released = await lua.RELEASE_TAGS(self._redis, keys=script_keys, args=[batch_id, entry])
            if released != _ENTRY_MOVED:
                return bool(released)

    async def month_spend(self, budget: TagBudget, month: str) -> tuple[Decimal, Decimal]:
        """(settled, reserved) USD of the budget's tag value in UTC `month` (`YYYY-MM`), exact."""
        script_keys = [keys.tag_month_spend(month), keys.tag_reservations(budget.field)]
        settled, reserved = await lua.TAG_MONTH_SPEND(self._redis, keys=script_keys, args=[budget.field, month])
        return Decimal(_text(settled)), Decimal(_text(reserved))
