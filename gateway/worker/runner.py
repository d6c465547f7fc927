"""One step of one claimed batch, chosen by its status. Every step is safe to repeat after a crash."""

from __future__ import annotations

from gateway.batches import TERMINAL, BatchRecord, BatchStatus, Claim, LeaseLostError, holding
from gateway.worker.close import close_batch
from gateway.worker.context import WorkerContext, log
from gateway.worker.expire import finish_unrouted
from gateway.worker.failures import on_step_failure
from gateway.worker.follow import follow_batch
from gateway.worker.settle import finish_sealed
from gateway.worker.steps import entering
from gateway.worker.validate import validate_batch

__all__ = ["advance", "advance_safely"]


async def advance(ctx: WorkerContext, claim: Claim) -> None:
    """One step under `claim`: every batch write it makes is fenced by the claim's token. A step that lost
    its claim to another worker (paused past its lease) stops at its next write (LeaseLostError): quietly,
    since the batch is in the new holder's hands. Whatever else it raises goes to the one error policy
    (worker/failures.py): retried within a bound, or the batch ends with the failure's code."""
    batches = ctx.services.batches
    try:
        with holding(claim, batches):
            record = await batches.adopt(claim)
            if record is None:
                await ctx.services.schedule.remove(claim)
                return
            try:
                await _step(ctx, claim, record)
            except LeaseLostError:
                raise
            except Exception as exc:
                await on_step_failure(ctx, claim, record, exc)
                return
            if record.failing_since is not None and record.status not in TERMINAL:  # got over its failure
                await batches.update(record.id, {"attempts": 0, "failing_since": None, "last_error": None})
    except LeaseLostError as exc:
        log.warning("lease_lost", batch_id=claim.batch_id, detail=str(exc))


async def _step(ctx: WorkerContext, claim: Claim, record: BatchRecord) -> None:
    if record.closing_status is not None and record.status not in TERMINAL:  # sealed before a crash
        entering("close")
        await finish_sealed(ctx, record)
        await ctx.reschedule(claim, 0)
        return
    if record.status in TERMINAL:
        entering("close")
        await close_batch(ctx, record, claim)
        return
    if record.status is BatchStatus.VALIDATING:
        if record.expires_at is not None and ctx.clock() >= record.expires_at:
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
    """Run a step (see `advance`). Only reading the record may fail unhandled (Redis down): the caller
    counts it as an outage, and the batch comes back when its lease runs out."""
    await advance(ctx, claim)
