"""Terminal means settled: every batch reaches completed|failed|expired|cancelled through `end_batch`.

The batch record (`{batches}` slot) and the ledger (`{acct}` slot) cannot change in one Lua script on a
Redis Cluster, so the order does the work: (1) `seal` fixes the outcome and the final fields on the record
while its status stays non-terminal, and from then on the status can only move to that outcome; (2) the
ledger is settled from the sealed record (exactly once: the ledger's own guard); (3) the status turns
terminal. A reader who sees a terminal status therefore finds the ledger record, its list, CSV, summary and
metrics final. A crash between the steps leaves a sealed record; `finish_sealed` completes it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import cast

from redis.exceptions import RedisError

from accounting.prices import ModelPrice
from accounting.records import LedgerRecord, SettledStatus
from accounting.route_costs import RouteCost, sum_costs
from accounting.tags import resolve_tags
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, BatchStatus, IllegalTransitionError
from gateway.worker.context import WorkerContext, log
from gateway.worker.leg_costs import legs_of, priced_leg, serving_provider

__all__ = ["end_batch", "finish_sealed", "settle_batch", "usage_of"]

_EMPTY: Mapping[str, object] = {}
_FINISHED_AT = {
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


_UNROUTED_PRICE = ModelPrice(input_usd_per_mtok=Decimal(0), output_usd_per_mtok=Decimal(0))


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


def _outcome(record: BatchRecord, now: int) -> tuple[BatchStatus, int]:
    """The settled status and time: the seal's, or (a record terminal before seals existed) the status's."""
    if record.closing_status is not None:
        return record.closing_status, record.closing_at or now
    return record.status, getattr(record, _FINISHED_AT[record.status]) or now


async def settle_batch(ctx: WorkerContext, record: BatchRecord) -> None:
    """Write the batch's ledger record from its sealed (or terminal) record; a repeat changes nothing."""
    settings = ctx.services.settings
    usage = usage_of(record)
    if record.model is None:
        # A batch refused before routing (validation, budget, an early cancel) has no model and ran nothing: it
        # costs exactly zero, which is a price, so it is not "unpriced" (that alert is for a routed model with no
        # price).
        legs = [priced_leg(record.provider or "none", "unknown", usage, _UNROUTED_PRICE, Decimal(0))]
        routes: tuple[RouteCost, ...] = ()
    else:
        legs = legs_of(settings, record, usage)
        routes = tuple(leg.route for leg in legs)
    cost = sum_costs([leg.cost for leg in legs])
    status, finished_at = _outcome(record, int(ctx.clock()))
    entry = LedgerRecord.build(
        batch_id=record.id,
        tenant=record.tenant,
        provider=serving_provider(record, routes),
        model=record.model or "unknown",
        endpoint=record.endpoint,
        status=cast(SettledStatus, status.value),
        usage=usage,
        cost=cost,
        settled_at=finished_at,
        tags=resolve_tags(record.metadata, settings.accounting.tag_keys),
        charges=tuple(charge for leg in legs for charge in leg.charges),
        routes=routes,
        deferred_until=_deferred_until(record),
    )
    if await ctx.ledger.settle(entry):
        labels = await _tag_labels(ctx, entry)
        ctx.metrics.record_settlement(entry, max(0, finished_at - record.created_at), tag_labels=labels)
        if not cost.priced and usage.input_tokens:
            log.warning("unpriced_batch", batch_id=record.id, model=record.model)
        log.info("batch_settled", batch_id=record.id, status=status.value, batch_cost_usd=str(cost.batch_usd))


def _deferred_until(record: BatchRecord) -> int | None:
    """Until when the batch last waited for an off-peak window: its current leg's wait, else an earlier leg's."""
    waits = [leg.deferred_until for leg in record.legs if leg.deferred_until is not None]
    return record.deferred_until if record.deferred_until is not None else max(waits, default=None)


async def _tag_labels(ctx: WorkerContext, entry: LedgerRecord) -> dict[str, str]:
    """The tags' metric labels; on a Redis error, none (counted as `other`): settled is settled, count it now."""
    try:
        return await ctx.services.tag_labels.labels(entry.tags)
    except (RedisError, OSError) as exc:
        log.warning("tag_labels_failed", batch_id=entry.batch_id, error=str(exc))
        return {}


async def end_batch(
    ctx: WorkerContext, record: BatchRecord, to: BatchStatus, *, cause: str, updates: Mapping[str, object] = _EMPTY
) -> BatchRecord | None:
    """Seal `to` with the final `updates`, settle, then make the status terminal. Returns the terminal record,
    or None when the batch cannot end as `to` (already terminal, or it moved on: e.g. cancelled meanwhile).
    A batch sealed earlier ends with that earlier outcome, whatever `to` is."""
    sealed = await ctx.services.batches.seal(record.id, to, now=int(ctx.clock()), updates=updates)
    if sealed is None:
        log.info("batch_moved_on", batch_id=record.id, wanted=to.value)
        return None
    return await finish_sealed(ctx, sealed, cause=cause)


async def finish_sealed(
    ctx: WorkerContext, sealed: BatchRecord, *, cause: str = "sealed outcome"
) -> BatchRecord | None:
    """Steps (2) and (3) for a sealed record: settle, then the terminal transition."""
    to, at = sealed.closing_status, sealed.closing_at
    if to is None or at is None:
        raise ValueError(f"batch {sealed.id} is not sealed")
    await settle_batch(ctx, sealed)
    try:
        return await ctx.services.batches.transition(sealed.id, to, cause=cause, now=at)
    except IllegalTransitionError:  # already terminal: an earlier run of this step got there
        return None
