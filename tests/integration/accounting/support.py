"""Records for ledger tests."""

from __future__ import annotations

from decimal import Decimal

from accounting.records import LedgerRecord, SettledStatus

__all__ = ["make_record"]


def make_record(
    batch_id: str,
    *,
    tenant: str = "research",
    provider: str = "deepseek",
    model: str = "deepseek-chat",
    settled_at: int = 1_767_225_600,  # 2026-01-01T00:00:00Z
    list_usd: str = "0.0002548",
    discount: str = "0.5",
    status: SettledStatus = "completed",
    tokens: tuple[int, int, int] = (1000, 600, 300),
    priced: bool = True,
) -> LedgerRecord:
    list_cost = Decimal(list_usd)
    batch_cost = list_cost * (1 - Decimal(discount))
    return LedgerRecord(
        batch_id=batch_id,
        tenant=tenant,
        provider=provider,
        model=model,
        endpoint="/v1/chat/completions",
        status=status,
        requests_completed=3,
        requests_failed=1,
        input_tokens=tokens[0],
        cached_input_tokens=tokens[1],
        output_tokens=tokens[2],
        reasoning_tokens=7,
        list_cost_usd=list_cost,
        batch_cost_usd=batch_cost,
        savings_usd=list_cost - batch_cost,
        settled_at=settled_at,
        priced=priced,
    )
