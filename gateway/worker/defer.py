"""Off-peak deferral: a batch on a provider with `defer_to_off_peak` waits, before submit, for the start the
planner (`providers/offpeak.py`) chose: the cheapest price window that still lets it finish before expiry.

The wait lives on the batch record (`deferred_until`) and in the shared schedule, so any worker resumes it at
the planned time after a crash; the batch is `in_progress` with 0 completed meanwhile. Its line count sits in
`deferred_lines(provider)` (the gauge) until it starts or ends. Cancel and expiry while waiting end it from
the follow step without sending anything upstream.
"""

from __future__ import annotations

import datetime as dt

from gateway.batches import BatchRecord
from gateway.redis import keys
from gateway.worker.context import WorkerContext, log
from providers.base import BatchJob
from providers.offpeak import estimate_run_seconds, plan_start

__all__ = ["measure_throughput", "release_deferral", "seconds_to_wait"]


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).isoformat(timespec="seconds")


async def seconds_to_wait(ctx: WorkerContext, record: BatchRecord, job: BatchJob) -> float:
    """How long (business seconds) the batch should still wait before submit; 0: submit now. Plans once."""
    limits = ctx.services.settings.providers[record.provider or ""].deferral_limits()
    if limits is None or not job.price_windows:
        return 0.0
    now = ctx.clock()
    until = record.deferred_until
    if until is None:
        lines = job.total_requests  # the current leg's: on a later route, the lines handed over to it
        measured = await ctx.services.redis.hget(keys.measured_throughput(), record.provider or "")
        rate = float(measured) if measured else None
        run = estimate_run_seconds(
            lines, _leg_tokens(record, lines), limits.requests_per_minute, limits.tokens_per_minute, rate
        )
        plan = plan_start(job.price_windows, now, job.expires_at, run)
        if plan.start <= now:
            return 0.0
        until = int(plan.start)
        await ctx.services.redis.hset(keys.deferred_lines(record.provider or ""), record.id, lines)
        await ctx.services.batches.update(record.id, {"deferred_until": until})
        log.info("batch_deferred", batch_id=record.id, until=_iso(until), lines=lines, run_seconds=int(run))
    if now >= until:
        await release_deferral(ctx, record)
        log.info("batch_deferral_over", batch_id=record.id, until=_iso(until))
        return 0.0
    return until - now


def _leg_tokens(record: BatchRecord, lines: int) -> int:
    """The validation estimate of the batch's tokens, scaled to the `lines` the current leg runs."""
    total = record.request_counts.total
    return record.estimated_tokens if lines >= total or total <= 0 else record.estimated_tokens * lines // total


async def release_deferral(ctx: WorkerContext, record: BatchRecord) -> None:
    """The batch no longer waits (it starts, or ends): its lines leave the gauge."""
    await ctx.services.redis.hdel(keys.deferred_lines(record.provider or ""), record.id)


async def measure_throughput(ctx: WorkerContext, record: BatchRecord, completed: int) -> None:
    """Keep the lines per second of a completed batch of a deferring provider, for the next plans: from its
    start (the end of its wait, or when it was routed) to now."""
    provider = ctx.services.settings.providers.get(record.provider or "")
    started = max(record.in_progress_at or 0, record.deferred_until or 0)
    elapsed = ctx.clock() - started
    if provider is None or provider.deferral_limits() is None or not started or elapsed <= 0 or completed <= 0:
        return
    await ctx.services.redis.hset(keys.measured_throughput(), record.provider or "", repr(completed / elapsed))
