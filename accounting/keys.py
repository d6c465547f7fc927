"""Every Redis key of the accounting package, in one place. Nothing else formats an accounting key.

All keys share the project's prefix (`gateway.core.keyspace`) and one hash tag, `{acct}`, so every ledger
key lives in one Redis Cluster slot and the settlement script can touch a record, the indexes, the totals and the budget
reservations atomically. The ledger writes once per batch, so one slot is never a hot spot. Every script
names each key it touches in KEYS[] (none is built inside Lua), as Cluster proxies and managed services demand.
"""

from __future__ import annotations

from gateway.core.keyspace import PREFIX as KEYSPACE

__all__ = [
    "PREFIX",
    "day_totals",
    "global_index",
    "month_spend",
    "record",
    "reservation_owners",
    "tag_label_values",
    "tag_month_spend",
    "tag_reservation_owners",
    "tag_reservations",
    "tenant_index",
    "tenant_reservations",
]

PREFIX = f"{KEYSPACE}{{acct}}:"


def record(batch_id: str) -> str:
    """msgspec-encoded LedgerRecord; its existence is the batch's settled guard."""
    return f"{PREFIX}record:{batch_id}"


def global_index() -> str:
    """Lexicographic sorted set (scores 0) of `<settled_at:012d>:<batch_id>` over all tenants."""
    return f"{PREFIX}index"


def tenant_index(tenant: str) -> str:
    """The same index, restricted to one tenant."""
    return f"{PREFIX}tenant:{tenant}:index"


def day_totals(day: str) -> str:
    """Hash of running totals for one UTC day (`YYYY-MM-DD`); fields are JSON `[tenant, provider, model, name]`."""
    return f"{PREFIX}totals:{day}"


def month_spend(month: str) -> str:
    """Hash tenant → settled batch cost (exact decimal string) for one UTC month (`YYYY-MM`)."""
    return f"{PREFIX}spend:{month}"


def tenant_reservations(tenant: str) -> str:
    """Hash batch_id → `<YYYY-MM> <estimate>`: a tenant's in-flight budget reservations."""
    return f"{PREFIX}reserved:{tenant}"


def reservation_owners() -> str:
    """Hash batch_id → tenant, so a reservation can be released by batch id alone."""
    return f"{PREFIX}reservation-owner"


def tag_month_spend(month: str) -> str:
    """Hash `key=value` → settled batch cost (exact decimal string) of that tag value in one UTC month."""
    return f"{PREFIX}tag-spend:{month}"


def tag_reservations(field: str) -> str:
    """Hash batch_id → `<YYYY-MM> <estimate>`: in-flight reservations against the budget of tag `key=value`."""
    return f"{PREFIX}tag-reserved:{field}"


def tag_reservation_owners() -> str:
    """Hash batch_id → the space-separated `key=value` tags it holds reservations on (released by batch id)."""
    return f"{PREFIX}tag-reservation-owner"


def tag_label_values(key: str) -> str:
    """Set of the values of tag `key` that have a metric label of their own (at most the cap; others: `other`)."""
    return f"{PREFIX}tag-labels:{key}"
