"""Handing a batch's unfinished lines from one route to the next (ARCHITECTURE.md §2.4, Routes).

A batch runs as legs: leg 1 on the model's first route; the lines route k could not finish become leg k+1 on
the next route, while the completion window allows. A route could not finish a line when it refused the
whole batch (`ProviderError.unserved`: no batch API there, or not this model), when its upstream batch ended
with the line unrun, or when the line ended with a retryable error after the route's own retries.

The hand-over is one step, safe to repeat: it reads leg k's results, stores the lines it finished (kept for
the final assembly) and the request lines it did not (leg k+1's input) under keys no other attempt uses,
then moves the record to the next route in one fenced update. A worker that dies before the update leaves
only unreferenced objects; the next holder repeats the step with fresh keys. Once the update landed, leg k
is never read again except its kept lines, and leg k+1 submits as a fresh batch (`<batch>-r<k+1>`
upstream), so no line runs on two routes and none is lost or doubled.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec

from accounting.served import ServedTokens
from accounting.usage import UsageAccumulator, UsageTotals
from gateway.batches import BatchRecord, BatchStatus, Leg, RequestCounts
from gateway.config.settings import ModelRoute
from gateway.core.lines import split_lines
from gateway.storage.local import StorageError
from gateway.validation.endpoints import ENDPOINTS
from gateway.worker.context import WorkerContext, log
from gateway.worker.leg_costs import served_of
from gateway.worker.results import AssembledFile, Spool, standing
from providers.base import BatchJob, BlobStore, Progress

__all__ = [
    "HAND_OVER_PREFIX",
    "LegSplit",
    "carried_lines",
    "counts_with_legs",
    "hand_over",
    "may_hand_over",
    "split_leg",
]

HAND_OVER_PREFIX = "legs/"  # the storage keys hand-overs write, and only they
_HANDING_OVER = (BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING)


class _CustomId(msgspec.Struct):
    custom_id: str | None = None


_custom_id = msgspec.json.Decoder(_CustomId).decode


@dataclass(frozen=True)
class LegSplit:
    kept: AssembledFile | None  # the result lines the leg finished
    rest: AssembledFile | None  # the request lines it did not: the next leg's input
    usage: UsageTotals  # of the kept lines, with their success/failure counts


def may_hand_over(record: BatchRecord, now: float) -> bool:
    """The user's cancel and the batch's expiry always win: after either, no new leg starts. `now`: the
    worker's clock, which every expiry check reads."""
    if record.status not in _HANDING_OVER or record.cancel_forwarded or record.expire_requested:
        return False
    return record.expires_at is None or now < record.expires_at


def counts_with_legs(record: BatchRecord, progress: Progress) -> RequestCounts:
    """The batch's counts while its current leg reports `progress`: earlier legs' kept lines added."""
    completed = sum(leg.completed for leg in record.legs)
    failed = sum(leg.failed for leg in record.legs)
    return RequestCounts(
        total=completed + failed + progress.total,
        completed=completed + progress.completed,
        failed=failed + progress.failed,
    )


async def carried_lines(storage: BlobStore, record: BatchRecord) -> AsyncIterator[bytes]:
    """The result lines earlier legs finished, for the final assembly."""
    for leg in record.legs:
        if leg.results_key is None:
            continue
        async for line in split_lines(storage.open_read(leg.results_key)):
            yield line


async def split_leg(
    storage: BlobStore,
    spool: Spool,
    rest: Spool,
    results: AsyncIterator[bytes],
    job: BatchJob,
    *,
    kept_key: str,
    rest_key: str,
) -> LegSplit:
    """Sort a finished leg's `results` into lines kept and request lines of `job`'s input left unfinished.
    A custom_id seen twice keeps its first finished line (as the final assembly does)."""
    usage = UsageAccumulator(ENDPOINTS[job.endpoint].usage)
    finished: set[str] = set()
    succeeded = 0
    async for line in results:
        read = standing(line)
        if read is None or read[1] == "unfinished" or read[0] in finished:
            continue
        finished.add(read[0])
        spool.add(line)
        usage.add(line)
        succeeded += read[1] == "succeeded"
    async for line in split_lines(storage.open_read(job.input_key)):
        _keep_unfinished(line, finished, rest)
    kept_file = await spool.store(storage, kept_key)
    rest_file = await rest.store(storage, rest_key)
    totals = msgspec.structs.replace(
        usage.totals(), requests_completed=succeeded, requests_failed=len(finished) - succeeded
    )
    return LegSplit(kept=kept_file, rest=rest_file, usage=totals)


def _keep_unfinished(line: bytes, finished: set[str], rest: Spool) -> None:
    custom_id = _custom_id(line).custom_id  # `split_lines` gives no blank lines and no trailing \r
    if custom_id is not None and custom_id not in finished:
        rest.add(line)


async def hand_over(
    ctx: WorkerContext,
    record: BatchRecord,
    job: BatchJob,
    results: AsyncIterator[bytes] | None,
    target: tuple[int, ModelRoute],
    *,
    served: ServedTokens | None = None,
) -> BatchRecord | None:
    """Move the lines the current leg did not finish to route `target`. `results` None: the route refused the
    batch, nothing ran, every line of the leg moves. `served`: the leg's tokens per price multiplier, when its
    provider kept them. Returns the record on its new route, or None when there is nothing to move or the batch
    moved on meanwhile (a cancel: the caller finishes it as usual)."""
    moving = await _split(ctx, record, job, results)
    if moving is None:
        return None  # the route finished every line after all
    split, next_input, lines = moving
    leg = _leg(record, job, split, served_of(job.price_windows, served, split.usage, ctx.clock()))
    updates = _on_next_route(record, leg, target, next_input, lines)
    moved = await ctx.services.batches.update(record.id, updates, only_if_status_in=_HANDING_OVER)
    if moved is None:  # cancelled meanwhile: this attempt's objects are nobody's
        await _discard(ctx.services.storage, split)
    else:
        log.info("batch_route_handed_over", batch_id=record.id, from_provider=leg.provider,
                 to_provider=target[1].provider, lines=lines, kept=leg.completed + leg.failed)  # fmt: skip
    return moved


async def _split(
    ctx: WorkerContext, record: BatchRecord, job: BatchJob, results: AsyncIterator[bytes] | None
) -> tuple[LegSplit, str, int] | None:
    """The leg's results split into the lines it kept and the rest, stored under keys unique to this attempt,
    with the next leg's input key and line count; None when the leg finished every line."""
    if results is None:  # refused: nothing ran, every line of the leg moves
        return LegSplit(kept=None, rest=None, usage=UsageTotals()), job.input_key, job.total_requests
    storage = ctx.services.storage
    attempt = f"{HAND_OVER_PREFIX}{record.id}/r{record.route_index + 1}-{secrets.token_hex(6)}"  # unique per attempt
    kept, rest = Spool(ctx.spool_dir), Spool(ctx.spool_dir)
    try:
        split = await split_leg(
            storage, kept, rest, results, job, kept_key=f"{attempt}-kept", rest_key=f"{attempt}-next"
        )
    finally:
        kept.handle.close()
        rest.handle.close()
    if split.rest is None:
        await _discard(storage, split)
        return None
    return split, split.rest.storage_key, split.rest.lines


def _on_next_route(
    record: BatchRecord, leg: Leg, target: tuple[int, ModelRoute], next_input: str, lines: int
) -> dict[str, object]:
    """The record's fields on its next route: the finished leg appended, the step state of a fresh leg."""
    index, route = target
    legs = (*record.legs, leg)
    return {
        "route_index": index,
        "legs": legs,
        "provider": route.provider,
        "upstream_model": route.upstream_name,
        "provider_state": b"",
        "leg_input_key": next_input,
        "leg_requests": lines,
        "polls": 0,
        "attempts": 0,
        "failing_since": None,
        "last_error": None,
        "deferred_until": None,  # the next leg plans its own wait; this one's is kept on its leg
        "served": None,
        "request_counts": counts_with_legs(msgspec.structs.replace(record, legs=legs), Progress(total=lines)),
    }


async def _discard(storage: BlobStore, split: LegSplit) -> None:
    for stored in (split.kept, split.rest):
        if stored is not None:
            with contextlib.suppress(StorageError):
                await storage.delete(stored.storage_key)


def _leg(record: BatchRecord, job: BatchJob, split: LegSplit, served: ServedTokens | None) -> Leg:
    usage = split.usage
    return Leg(
        route_index=record.route_index,
        provider=record.provider or "",
        upstream_model=job.upstream_model,
        input_key=job.input_key,
        provider_state=record.provider_state,
        results_key=split.kept.storage_key if split.kept else None,
        requests=job.total_requests,
        completed=usage.requests_completed,
        failed=usage.requests_failed,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        served=served,
        deferred_until=record.deferred_until,
    )
