"""One step of one claimed batch, chosen by its status. Every step is safe to repeat after a crash."""

from __future__ import annotations

import time

from gateway.batches import TERMINAL, BatchRecord, BatchStatus, Claim
from gateway.worker.close import close_batch
from gateway.worker.context import WorkerContext
from gateway.worker.expire import finish_unrouted
from gateway.worker.failures import on_step_failure
from gateway.worker.follow import follow_batch
from gateway.worker.steps import entering
from gateway.worker.validate import validate_batch

__all__ = ["advance", "advance_safely"]


async def advance(ctx: WorkerContext, claim: Claim, record: BatchRecord) -> None:
    if record.status in TERMINAL:
        entering("close")
        await close_batch(ctx, record, claim)
        return
    if record.status is BatchStatus.VALIDATING:
        if record.expires_at is not None and time.time() >= record.expires_at:
            entering("expire")
            await finish_unrouted(ctx, record)
            await ctx.reschedule(claim, 0)
            return
        entering("validate")
        await validate_batch(ctx, record, claim)
        return
    if record.status is BatchStatus.CANCELLING and record.provider is None:  # cancelled while validating
        entering("expire")
        await finish_unrouted(ctx, record)
        await ctx.reschedule(claim, 0)
        return
    await follow_batch(ctx, record, claim)


async def advance_safely(ctx: WorkerContext, claim: Claim) -> None:
    """Run a step under the one error policy (worker/failures.py): whatever it raises is retried within a
    bound or ends the batch. Only reading the record may fail unhandled (Redis down): the batch then comes
    back when its lease runs out."""
    record = await ctx.services.batches.get(claim.batch_id, tenant=None)
    if record is None:
        await ctx.services.schedule.remove(claim)
        return
    try:
        await advance(ctx, claim, record)
    except Exception as exc:
        await on_step_failure(ctx, claim, record, exc)
        return
    if record.failing_since is not None and record.status not in TERMINAL:  # the step got over its failure
        await ctx.services.batches.update(record.id, {"attempts": 0, "failing_since": None, "last_error": None})
