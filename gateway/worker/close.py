"""A terminal batch's last step: settle its cost exactly once, release leftovers, leave the schedule.

The ledger's Lua guard makes settlement exactly-once whatever crashes or repeats this step; metrics are
incremented only by the call that actually settled.
"""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from typing import cast

from accounting.cost import price_usage
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord, SettledStatus
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, BatchStatus, Claim
from gateway.storage import StorageError
from gateway.worker.context import WorkerContext, job_for, log
from gateway.worker.custom_ids import custom_ids_key
from gateway.worker.validate import price_of
from providers.base import ProviderError

__all__ = ["close_batch", "settle_batch"]

_UNROUTED_PRICE = ModelPrice(input_usd_per_mtok=Decimal(0), output_usd_per_mtok=Decimal(0))
_FINISHED_AT = {
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


def usage_of(record: BatchRecord) -> UsageTotals:
    usage = record.usage
    counts = record.request_counts
    if usage is None:
        return UsageTotals(requests_completed=counts.completed, requests_failed=counts.failed)
    return UsageTotals(
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.input_tokens_details.cached_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.output_tokens_details.reasoning_tokens,
        requests_completed=counts.completed,
        requests_failed=counts.failed,
    )


async def settle_batch(ctx: WorkerContext, record: BatchRecord) -> None:
    settings = ctx.services.settings
    provider = settings.providers.get(record.provider or "")
    route = settings.route_for(record.model or "")
    usage = usage_of(record)
    # A batch refused before routing (validation, budget, an early cancel) has no model and ran nothing: it costs
    # exactly zero, which is a price, so it is not "unpriced" (that alert is for a routed model with no price).
    price = price_of(route) if record.model is not None else _UNROUTED_PRICE
    cost = price_usage(usage, price, provider.batch_discount if provider else Decimal(0))
    finished_at = getattr(record, _FINISHED_AT[record.status]) or int(time.time())
    entry = LedgerRecord.build(
        batch_id=record.id,
        tenant=record.tenant,
        provider=record.provider or "none",
        model=record.model or "unknown",
        endpoint=record.endpoint,
        status=cast(SettledStatus, record.status.value),
        usage=usage,
        cost=cost,
        settled_at=finished_at,
    )
    if await ctx.ledger.settle(entry):
        ctx.metrics.record_settlement(entry, turnaround_seconds=max(0, finished_at - record.created_at))
        if not cost.priced and usage.input_tokens:
            log.warning("unpriced_batch", batch_id=record.id, model=record.model)
        log.info("batch_settled", batch_id=record.id, status=record.status.value, batch_cost_usd=str(cost.batch_usd))


async def close_batch(ctx: WorkerContext, record: BatchRecord, claim: Claim) -> None:
    await settle_batch(ctx, record)
    await ctx.ledger.release(record.id)
    provider = ctx.providers.get(record.provider or "")
    if provider is not None and record.provider_state:
        try:
            await provider.cleanup(job_for(record, None), record.provider_state)
        except ProviderError as exc:
            log.warning("provider_cleanup_failed", batch_id=record.id, error=str(exc))
    with contextlib.suppress(StorageError):
        await ctx.services.storage.delete(custom_ids_key(record.id))
    await ctx.services.schedule.remove(claim)
