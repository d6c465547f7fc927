"""One step of one claimed batch, chosen by its status. Every step is safe to repeat after a crash."""

from __future__ import annotations

import time

from gateway.batches import TERMINAL, BatchRecord, BatchStatus, Claim, LeaseLostError, holding
from gateway.worker.close import close_batch
from gateway.worker.context import WorkerContext, log
from gateway.worker.expire import finish_unrouted
from gateway.worker.follow import follow_batch
from gateway.worker.settle import finish_sealed
from gateway.worker.validate import validate_batch

__all__ = ["advance", "advance_safely"]


async def advance(ctx: WorkerContext, claim: Claim) -> None:
    """One step under `claim`: every batch write it makes is fenced by the claim's token. A step that lost
    its claim to another worker (paused past its lease) stops at its next write (LeaseLostError): quietly,
    since the batch is in the new holder's hands."""
    batches = ctx.services.batches
    try:
        with holding(claim, batches):
            await _step(ctx, claim, await batches.adopt(claim))
    except LeaseLostError as exc:
        log.warning("lease_lost", batch_id=claim.batch_id, detail=str(exc))


async def _step(ctx: WorkerContext, claim: Claim, record: BatchRecord | None) -> None:
    if record is None:
        await ctx.services.schedule.remove(claim)
        return
    if record.closing_status is not None and record.status not in TERMINAL:  # sealed before a crash
        await finish_sealed(ctx, record)
        await ctx.reschedule(claim, 0)
        return
    if record.status in TERMINAL:
        await close_batch(ctx, record, claim)
        return
    if record.status is BatchStatus.VALIDATING:
        if record.expires_at is not None and time.time() >= record.expires_at:
            await finish_unrouted(ctx, record)
            await ctx.reschedule(claim, 0)
            return
        await validate_batch(ctx, record, claim)
        return
    if record.status is BatchStatus.CANCELLING and record.provider is None:  # cancelled while validating
        await finish_unrouted(ctx, record)
        await ctx.reschedule(claim, 0)
        return
    await follow_batch(ctx, record, claim)


async def advance_safely(ctx: WorkerContext, claim: Claim) -> None:
    """Run a step; an unexpected error is logged and the batch retried after its lease, never lost."""
    try:
        await advance(ctx, claim)
    except Exception:
        log.exception("worker_step_failed", batch_id=claim.batch_id)
