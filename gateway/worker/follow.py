"""Following a routed batch: submit once, forward cancel/expiry once, poll on a slowing schedule, finish.

Every provider call is retried on the schedule (not in a loop here) with exponential backoff; a
non-retryable provider error fails the batch with the provider's message. If the provider stays
unreachable past the completion window plus a grace period, the batch expires with what we have.
"""

from __future__ import annotations

import contextlib
import time

from gateway.batches import BatchRecord, BatchStatus, Claim, IllegalTransitionError, RequestCounts
from gateway.worker.context import WorkerContext, backoff_seconds, job_for, log
from gateway.worker.finish import finish_batch
from gateway.worker.validate import fail_batch
from providers.base import BatchError, BatchJob, Finished, Provider, ProviderError, Running

__all__ = ["UNREACHABLE_GRACE_SECONDS", "follow_batch"]

UNREACHABLE_GRACE_SECONDS = 600
FIRST_POLL_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0


async def follow_batch(ctx: WorkerContext, record: BatchRecord, claim: Claim) -> None:
    provider = ctx.providers.get(record.provider or "")
    if provider is None:
        error = BatchError(code="provider_not_configured", message=f"Provider {record.provider!r} is not configured.")
        await fail_batch(ctx, record, [error], "provider missing")
        await ctx.reschedule(claim, 0)
        return
    input_file = await ctx.services.files.get(record.input_file_id, tenant=record.tenant)
    job = job_for(record, input_file)
    try:
        record, outcome = await _advance(ctx, record, job, provider)
    except ProviderError as exc:
        await _on_provider_error(ctx, record, job, claim, exc)
        return
    if isinstance(outcome, Finished):
        await finish_batch(ctx, record, job, provider, outcome)
        await ctx.reschedule(claim, 0)
        return
    await _mirror_running(ctx, record, outcome)
    await ctx.reschedule(claim, await _next_poll_delay(ctx, record, outcome))


async def _next_poll_delay(ctx: WorkerContext, record: BatchRecord, outcome: Running) -> float:
    """Polls start fast and slow down to the provider's interval, unless the provider asks for sooner; a
    cancel that arrived during this step (its own wake-up was refused while we held the claim) is forwarded
    at once."""
    fresh = await ctx.services.batches.get(record.id, tenant=None) or record
    if fresh.status is BatchStatus.CANCELLING and not fresh.cancel_forwarded:
        return 0
    interval = ctx.services.settings.providers[record.provider or ""].poll_interval_seconds
    delay = backoff_seconds(record.polls, first=FIRST_POLL_SECONDS, cap=interval)
    return delay if outcome.poll_after is None else min(delay, outcome.poll_after)


async def _advance(
    ctx: WorkerContext, record: BatchRecord, job: BatchJob, provider: Provider
) -> tuple[BatchRecord, Running | Finished]:
    batches = ctx.services.batches
    if not record.provider_state:
        state = await provider.submit(job)
        record = await batches.update(record.id, {"provider_state": state}) or record
    expired = record.expires_at is not None and time.time() >= record.expires_at
    if (record.status is BatchStatus.CANCELLING or expired) and not record.cancel_forwarded:
        state = await provider.cancel(job, record.provider_state)
        updates = {"provider_state": state, "cancel_forwarded": True, "expire_requested": expired}
        record = await batches.update(record.id, updates) or record
    outcome, state = await provider.poll(job, record.provider_state)
    progress = outcome.progress
    updates = {
        "provider_state": state,
        "polls": record.polls + 1,
        "attempts": 0,
        "request_counts": RequestCounts(total=progress.total, completed=progress.completed, failed=progress.failed),
    }
    return await batches.update(record.id, updates) or record, outcome


async def _mirror_running(ctx: WorkerContext, record: BatchRecord, outcome: Running) -> None:
    if outcome.status == "finalizing" and record.status is BatchStatus.IN_PROGRESS:
        with contextlib.suppress(IllegalTransitionError):  # cancelled meanwhile: the next step handles it
            await ctx.services.batches.transition(
                record.id, BatchStatus.FINALIZING, cause="provider finalizing", now=int(time.time())
            )


async def _on_provider_error(
    ctx: WorkerContext, record: BatchRecord, job: BatchJob, claim: Claim, exc: ProviderError
) -> None:
    log.warning("provider_error", batch_id=record.id, provider=record.provider, retryable=exc.retryable, error=str(exc))
    if not exc.retryable:
        if record.status is BatchStatus.CANCELLING:
            await finish_batch(ctx, record, job, None, None)
        else:
            await fail_batch(ctx, record, [BatchError(code=exc.code, message=str(exc))], "provider refused")
        await ctx.reschedule(claim, 0)
        return
    past_window = record.expires_at is not None and time.time() > record.expires_at + UNREACHABLE_GRACE_SECONDS
    if past_window:
        await finish_batch(ctx, record, job, None, None)
        await ctx.reschedule(claim, 0)
        return
    await ctx.services.batches.update(record.id, {"attempts": record.attempts + 1, "last_error": str(exc)})
    await ctx.reschedule(claim, backoff_seconds(record.attempts, first=FIRST_POLL_SECONDS, cap=MAX_RETRY_SECONDS))
