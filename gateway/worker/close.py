"""A terminal batch's last step: settle its cost exactly once, release leftovers, leave the schedule.

The ledger's Lua guard makes settlement exactly-once whatever crashes or repeats this step; metrics are
incremented only by the call that actually settled.
"""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from typing import cast

from redis.exceptions import RedisError

from accounting.charges import charges_of
from accounting.cost import price_usage
from accounting.records import LedgerRecord, SettledStatus
from accounting.tags import resolve_tags
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, BatchStatus, Claim
from gateway.storage import StorageError
from gateway.worker.context import WorkerContext, job_for, log
from gateway.worker.custom_ids import custom_ids_key
from gateway.worker.validate import price_of
from providers.base import ProviderError

__all__ = ["close_batch", "settle_batch"]

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
    discount = provider.batch_discount if provider else Decimal(0)
    cost = price_usage(usage, price_of(route), discount)
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
        tags=resolve_tags(record.metadata, settings.accounting.tag_keys),
        charges=charges_of(usage, price_of(route), discount),
    )
    if await ctx.ledger.settle(entry):
        labels = await _tag_labels(ctx, entry)
        ctx.metrics.record_settlement(entry, max(0, finished_at - record.created_at), tag_labels=labels)
        if not cost.priced and usage.input_tokens:
            log.warning("unpriced_batch", batch_id=record.id, model=record.model)
        log.info("batch_settled", batch_id=record.id, status=record.status.value, batch_cost_usd=str(cost.batch_usd))


async def _tag_labels(ctx: WorkerContext, entry: LedgerRecord) -> dict[str, str]:
    """The tags' metric labels; on a Redis error, none (counted as `other`): settled is settled, count it now."""
    try:
        return await ctx.services.tag_labels.labels(entry.tags)
    except (RedisError, OSError) as exc:
        log.warning("tag_labels_failed", batch_id=entry.batch_id, error=str(exc))
        return {}


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
