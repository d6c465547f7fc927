"""Following a routed batch: submit once, forward cancel/expiry once, poll on a slowing schedule, finish.

Whatever a provider call raises is handled by the one step policy (worker/failures.py): retried on the
schedule with backoff, or the batch ends with the error's code. A batch cancelled or expired while its
submit is failing ends here without calling the provider again, so a failing submit never holds it.
"""

from __future__ import annotations

import contextlib

from gateway.batches import BatchRecord, BatchStatus, Claim, IllegalTransitionError
from gateway.worker.context import WorkerContext, job_for
from gateway.worker.defer import release_deferral, seconds_to_wait
from gateway.worker.failures import give_up
from gateway.worker.finish import finish_batch
from gateway.worker.legs import counts_with_legs, hand_over, may_hand_over
from gateway.worker.routes import current_route, next_route
from gateway.worker.steps import entering
from gateway.worker.validate import fail_batch
from providers.base import BatchError, BatchJob, Finished, Provider, ProviderError, Running
from providers.retry import full_jitter

__all__ = ["follow_batch"]

FIRST_POLL_SECONDS = 1.0


async def follow_batch(ctx: WorkerContext, record: BatchRecord, claim: Claim) -> None:
    entering("follow")
    provider = ctx.providers.get(record.provider or "")
    if provider is None:
        error = BatchError(code="provider_not_configured", message=f"Provider {record.provider!r} is not configured.")
        if record.legs:  # earlier routes' results are the batch's: end it with them, this leg's lines not run
            await give_up(ctx, record, error)
        else:
            await fail_batch(ctx, record, [error], "provider missing")
        await ctx.reschedule(claim, 0)
        return
    input_file = await ctx.services.files.get(record.input_file_id, tenant=record.tenant)
    route = current_route(ctx.services.settings, record)  # the current leg's: its windows price and defer it
    job = job_for(record, input_file, tuple(route.price_windows) if route else ())
    if _stop_before_submit(ctx, record):
        await release_deferral(ctx, record)
        await finish_batch(ctx, record, job, None, None)  # nothing was sent upstream: every line never ran
        await ctx.reschedule(claim, 0)
        return
    if await _waits_off_peak(ctx, record, job, claim):
        return
    try:
        record, outcome = await _advance(ctx, record, job, provider)
    except ProviderError as exc:
        # A route that does not serve the batch at all hands it, untouched, to the model's next route.
        if not exc.unserved or record.provider_state or not await _next_leg(ctx, record, job, None):
            raise
        await ctx.reschedule(claim, 0)
        return
    if isinstance(outcome, Finished):
        if not (_unfinished_left(outcome) and await _next_leg(ctx, record, job, provider, outcome)):
            await finish_batch(ctx, record, job, provider, outcome)
        await ctx.reschedule(claim, 0)
        return
    await _mirror_running(ctx, record, outcome)
    await ctx.reschedule(claim, await _next_poll_delay(ctx, record, outcome))


def _unfinished_left(outcome: Finished) -> bool:
    """Whether the leg may have lines to hand over: it did not complete, or not every line succeeded."""
    progress = outcome.progress
    return outcome.outcome != "completed" or progress.completed < progress.total


async def _waits_off_peak(ctx: WorkerContext, record: BatchRecord, job: BatchJob, claim: Claim) -> bool:
    """Whether the current leg, not submitted yet, still waits for its off-peak start (worker/defer.py)."""
    if record.provider_state or (wait := await seconds_to_wait(ctx, record, job)) <= 0:
        return False
    check = ctx.services.settings.batches.deferral_check_seconds
    await ctx.reschedule(claim, min(wait, check))  # the schedule runs on real time; the wait on the clock
    return True


async def _next_leg(
    ctx: WorkerContext, record: BatchRecord, job: BatchJob, provider: Provider | None, outcome: Finished | None = None
) -> bool:
    """Hand what the current leg did not finish to the model's next route; False when there is none, the
    window or a cancel forbids it, or nothing is left to hand over (the caller finishes the batch)."""
    target = next_route(ctx.services.settings, record)
    if target is None or not may_hand_over(record, ctx.clock()):
        return False
    entering("hand_over")
    results = provider.fetch_results(job, record.provider_state) if provider is not None else None
    served = outcome.served if outcome is not None else None
    return await hand_over(ctx, record, job, results, target, served=served) is not None


def _stop_before_submit(ctx: WorkerContext, record: BatchRecord) -> bool:
    """Cancel and expiry win over a failing submit and over an off-peak wait. While the submit has not failed
    it still runs first: an earlier attempt that crashed may have started the batch upstream, and only submit
    (idempotent) finds that one, to be cancelled next. A deferred batch was never submitted."""
    stopping = record.status is BatchStatus.CANCELLING or _expired(ctx, record)
    waiting = record.deferred_until is not None or record.failing_since is not None
    return stopping and not record.provider_state and waiting


def _expired(ctx: WorkerContext, record: BatchRecord) -> bool:
    return record.expires_at is not None and ctx.clock() >= record.expires_at


async def _next_poll_delay(ctx: WorkerContext, record: BatchRecord, outcome: Running) -> float:
    """Polls start fast and slow down to the provider's interval, unless the provider asks for sooner; a
    cancel that arrived during this step (its own wake-up was refused while we held the claim) is forwarded
    at once."""
    fresh = await ctx.services.batches.get(record.id, tenant=None) or record
    if fresh.status is BatchStatus.CANCELLING and not fresh.cancel_forwarded:
        return 0
    interval = ctx.services.settings.providers[record.provider or ""].poll_interval_seconds
    delay = full_jitter(record.polls + 1, base=FIRST_POLL_SECONDS, cap=interval)
    return delay if outcome.poll_after is None else min(delay, outcome.poll_after)


async def _advance(
    ctx: WorkerContext, record: BatchRecord, job: BatchJob, provider: Provider
) -> tuple[BatchRecord, Running | Finished]:
    batches = ctx.services.batches
    if not record.provider_state:
        entering("submit")
        state = await provider.submit(job)
        record = await batches.update(record.id, {"provider_state": state}) or record
    expired = _expired(ctx, record)
    if (record.status is BatchStatus.CANCELLING or expired) and not record.cancel_forwarded:
        entering("cancel")
        state = await provider.cancel(job, record.provider_state)
        updates = {"provider_state": state, "cancel_forwarded": True, "expire_requested": expired}
        record = await batches.update(record.id, updates) or record
    entering("poll")
    outcome, state = await provider.poll(job, record.provider_state)
    progress = outcome.progress
    updates = {
        "provider_state": state,
        "polls": record.polls + 1,
        "attempts": 0,
        "failing_since": None,
        "request_counts": counts_with_legs(record, progress),
    }
    return await batches.update(record.id, updates) or record, outcome


async def _mirror_running(ctx: WorkerContext, record: BatchRecord, outcome: Running) -> None:
    if outcome.status == "finalizing" and record.status is BatchStatus.IN_PROGRESS:
        with contextlib.suppress(IllegalTransitionError):  # cancelled meanwhile: the next step handles it
            await ctx.services.batches.transition(
                record.id, BatchStatus.FINALIZING, cause="provider finalizing", now=int(ctx.clock())
            )
