"""The one error policy of worker steps: classify what a step raised, retry it within a bound, or end the batch.

Transient (Redis, network, a storage hiccup, upstream 5xx/429): retried with exponential backoff and
jitter for up to `batches.step_retry_seconds`, and not past the batch's `expires_at` (though always for
`MIN_RETRY_SECONDS`). Permanent (an object that is gone, an upstream 4xx): no retry. An exception we do not
know (a bug) is tried `BUG_ATTEMPTS` times in all, since a crash elsewhere can make a one-off, then is
permanent. When a step gives up, its batch ends (`give_up`) with the failure's code:

- nothing ran yet (validating, or not submitted upstream): `failed`, the code in `errors.data`;
- otherwise `completed` (the upstream had finished) / `expired` / `cancelled`, keeping every result the
  provider can still deliver; every request without a result goes to the error file with the code.

Codes: `input_file_missing`, `upstream_result_missing`, `storage_unavailable`, `redis_unavailable`,
`upstream_unavailable`, `network_error`, `internal_error`, or a provider's own code (`provider_rejected`,
`provider_auth_failed`, …). One log line per failed attempt, a traceback only for a bug's first attempt.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Literal

import httpx
from redis.exceptions import RedisError

from gateway.batches import TERMINAL, BatchRecord, BatchStatus, Claim, LeaseLostError
from gateway.config.settings import BatchesSettings
from gateway.storage.local import ObjectMissing, StorageError
from gateway.worker.context import WorkerContext, job_for, log
from gateway.worker.finish import finish_batch
from gateway.worker.settle import end_batch
from gateway.worker.steps import current_step, entering
from providers.base import BatchError, Finished, Progress, ProviderError
from providers.retry import full_jitter

__all__ = ["Failure", "classify", "give_up", "on_step_failure", "retry_deadline", "step_retry_delay"]

CLOSE_MAX_RETRY_SECONDS = 300.0  # a terminal batch's close (settle, clean up) is retried for ever, slowly
MIN_RETRY_SECONDS = 30.0  # even a batch past its expiry gets this long to get over a blip
BUG_ATTEMPTS = 3
_HOLDS_UPSTREAM_WORK = frozenset({"poll", "cancel", "hand_over", "finish", "end"})


@dataclass(frozen=True)
class Failure:
    transient: bool
    code: str
    message: str
    bug: bool = False


def classify(exc: BaseException, step: str) -> Failure:
    """Transient or permanent, and the documented code, for what `step` raised."""
    message = str(exc)[:500] or type(exc).__name__
    if isinstance(exc, ObjectMissing):
        return Failure(False, "input_file_missing" if step in ("validate", "submit") else "internal_error", message)
    if isinstance(exc, StorageError):
        return Failure(True, "storage_unavailable", message)
    if isinstance(exc, ProviderError):
        if exc.retryable:
            return Failure(True, "upstream_unavailable", message)
        if step in ("finish", "hand_over") and exc.code != "provider_auth_failed":  # result files gone upstream
            return Failure(False, "upstream_result_missing", message)
        return Failure(False, exc.code, message)
    if isinstance(exc, RedisError):
        return Failure(True, "redis_unavailable", f"Redis: {type(exc).__name__}: {message}")
    if isinstance(exc, (httpx.TransportError, OSError, TimeoutError)):
        return Failure(True, "network_error", f"{type(exc).__name__}: {message}")
    return Failure(False, "internal_error", f"internal error ({type(exc).__name__})", bug=True)


def step_retry_delay(limits: BatchesSettings, attempt: int) -> float:
    """The pause after a step's `attempt`-th failure in a row: full jitter with the `[batches]` numbers."""
    return full_jitter(attempt, base=limits.step_retry_base_seconds, cap=limits.step_retry_max_seconds)


def retry_deadline(record: BatchRecord, step: str, since: int, budget_seconds: float) -> float:
    """When a step failing since `since` stops being retried. Steps before the upstream has any work are
    bounded by the batch's expiry too; polling, cancelling and fetching results of work already paid for go
    on until the window ends, and for the budget past their first failure in any case."""
    deadline = since + budget_seconds
    if record.expires_at is None:
        return deadline
    if step in _HOLDS_UPSTREAM_WORK:
        return max(deadline, record.expires_at)
    return min(deadline, max(record.expires_at, since + MIN_RETRY_SECONDS))


async def on_step_failure(ctx: WorkerContext, claim: Claim, record: BatchRecord, exc: Exception) -> None:
    """Apply the policy to what a step of `record` raised; never raises (a Redis outage here only means the
    batch comes back when its lease runs out)."""
    step = current_step()
    failure = classify(exc, step)
    attempt = record.attempts + 1
    ctx.services.worker_health.step_error(step, failure.code)
    log.warning(
        "worker_step_failed",
        batch_id=record.id,
        step=step,
        attempt=attempt,
        code=failure.code,
        transient=failure.transient,
        error=failure.message,
        exc_info=exc if failure.bug and attempt == 1 else None,
    )
    try:
        await _retry_or_end(ctx, claim, record, failure, attempt)
    except LeaseLostError:
        raise  # another worker holds the batch now: nothing of ours to record
    except Exception as follow_up:
        if classify(follow_up, "end").transient:  # Redis or storage down too: the lease brings the batch back
            log.warning("worker_step_failure_not_recorded", batch_id=record.id, error=type(follow_up).__name__)
            return
        # Ending the batch failed for good (a bug on that path too): the status alone, never a wedge.
        log.error("worker_end_failed", batch_id=record.id, exc_info=follow_up)
        with contextlib.suppress(Exception):
            await _end_bare(ctx, record, BatchError(code="internal_error", message="internal error"))
            await ctx.reschedule(claim, 0)


async def _retry_or_end(ctx: WorkerContext, claim: Claim, record: BatchRecord, failure: Failure, attempt: int) -> None:
    now = time.time()
    since = record.failing_since or int(now)
    if record.status in TERMINAL:  # the close step: there is nothing left to end, only to finish settling
        base = ctx.services.settings.batches.step_retry_base_seconds
        delay = full_jitter(attempt + 1, base=base, cap=max(base, CLOSE_MAX_RETRY_SECONDS))
        await ctx.reschedule(claim, delay)
        return
    step = current_step()
    limits = ctx.services.settings.batches
    deadline = retry_deadline(record, step, since, limits.step_retry_seconds)
    retry = failure.transient or (failure.bug and attempt < BUG_ATTEMPTS)
    if retry and now < deadline:
        delay = min(step_retry_delay(limits, attempt), deadline - now)
        updates = {"attempts": attempt, "last_error": f"{failure.code}: {failure.message}", "failing_since": since}
        await ctx.services.batches.update(record.id, updates)
        await ctx.reschedule(claim, max(0.0, delay))
        return
    log.warning("worker_step_gave_up", batch_id=record.id, step=step, code=failure.code, attempts=attempt)
    await give_up(ctx, record, BatchError(code=failure.code, message=failure.message))
    await ctx.reschedule(claim, 0)  # the terminal batch is closed (settled, released) at once


async def give_up(ctx: WorkerContext, record: BatchRecord, error: BatchError) -> None:
    """End a batch whose step gave up: `failed` when nothing ran, else with every result still to be had."""
    record = await ctx.services.batches.get(record.id, tenant=None) or record
    if record.status in TERMINAL:
        return
    if record.status is BatchStatus.VALIDATING or not (record.provider_state or record.legs):
        await _end_bare(ctx, record, error)
        return
    entering("end")
    await ctx.services.batches.update(record.id, {"errors": (error,)})  # why it ended, whatever results remain
    job = job_for(record, await ctx.services.files.get(record.input_file_id, tenant=record.tenant))
    # The upstream had finished (finalizing): what it produced is the batch's result; else it expires.
    done: Literal["completed", "expired"] = "completed" if record.status is BatchStatus.FINALIZING else "expired"
    outcome = Finished(outcome=done, progress=_progress(record))
    # A leg that never started upstream (its submit gave up) has no results; earlier legs' are kept.
    provider = ctx.providers.get(record.provider or "") if record.provider_state else None
    if provider is not None:
        if record.status is not BatchStatus.FINALIZING:
            with contextlib.suppress(ProviderError):  # stop the upstream spending; best effort
                await provider.cancel(job, record.provider_state)
        try:
            await finish_batch(ctx, record, job, provider, outcome, never_ran_code=error.code)
            return
        except Exception as exc:  # the results cannot be had: every request is reported as not run
            log.warning("worker_end_without_results", batch_id=record.id, error=type(exc).__name__)
    try:
        await finish_batch(ctx, record, job, None, outcome, never_ran_code=error.code)
    except StorageError:  # not even the list of requests (stored at validation): the status alone
        await _end_bare(ctx, record, error)


async def _end_bare(ctx: WorkerContext, record: BatchRecord, error: BatchError) -> None:
    """The terminal status without result files: cancel and expiry win over the failure, else `failed`."""
    if record.status is BatchStatus.CANCELLING:
        terminal = BatchStatus.CANCELLED
    elif record.expires_at is not None and ctx.clock() >= record.expires_at:
        terminal = BatchStatus.EXPIRED
    else:
        terminal = BatchStatus.FAILED
    await end_batch(ctx, record, terminal, cause=f"gave up: {error.code}", updates={"errors": (error,)})


def _progress(record: BatchRecord) -> Progress:
    counts = record.request_counts
    return Progress(total=counts.total, completed=counts.completed, failed=counts.failed)
