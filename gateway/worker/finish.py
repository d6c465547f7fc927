"""From a provider's `Finished` to a terminal batch: result files, counts, usage, settlement, then the status."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from accounting.served import ServedTokens
from gateway.batches import BatchRecord, BatchStatus, IllegalTransitionError, RequestCounts
from gateway.core.ids import new_file_id
from gateway.files.records import FileRecord
from gateway.worker.context import WorkerContext
from gateway.worker.custom_ids import custom_ids_key, read_custom_ids
from gateway.worker.defer import measure_throughput
from gateway.worker.leg_costs import current_usage, served_of
from gateway.worker.legs import carried_lines
from gateway.worker.results import AssembledFile, Assembly, assemble
from gateway.worker.routes import current_route
from gateway.worker.settle import end_batch, finish_sealed
from gateway.worker.steps import entering
from gateway.worker.validate import fail_batch
from providers.base import BatchJob, Finished, Provider

__all__ = ["finish_batch", "terminal_for"]

DEFAULT_OUTPUT_EXPIRY_SECONDS = 30 * 24 * 3600


def terminal_for(record: BatchRecord, outcome: Finished | None) -> tuple[BatchStatus, str]:
    """The gateway's terminal status and the error code for requests that never ran."""
    if record.status is BatchStatus.CANCELLING:
        return BatchStatus.CANCELLED, "batch_cancelled"
    if outcome is not None and outcome.outcome == "completed":
        return BatchStatus.COMPLETED, outcome.missing_code or "result_missing"
    if outcome is not None and outcome.outcome == "cancelled" and not record.expire_requested:
        return BatchStatus.CANCELLED, "batch_cancelled"
    return BatchStatus.EXPIRED, "batch_expired"


async def _no_lines() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


async def finish_batch(
    ctx: WorkerContext,
    record: BatchRecord,
    job: BatchJob,
    provider: Provider | None,
    outcome: Finished | None,
    *,
    never_ran_code: str | None = None,
) -> None:
    """`outcome` None means the provider cannot be reached any more: every request is reported as not run.
    `never_ran_code` replaces the status's code for requests without a result (a step that gave up)."""
    entering("finish")
    if record.closing_status is not None:  # sealed by an earlier run of this step: complete that outcome
        await finish_sealed(ctx, record)
        return
    if outcome is not None and outcome.outcome == "failed" and record.status is not BatchStatus.CANCELLING:
        if not record.legs:
            await fail_batch(ctx, record, list(outcome.errors), "the provider failed the batch")
            return
        # The last route refused what earlier routes left: their results stand, these lines end as failed.
        await ctx.services.batches.update(record.id, {"errors": outcome.errors or None})
        outcome = Finished(
            outcome="completed", progress=outcome.progress, missing_code="batch_failed", served=outcome.served
        )
    terminal, never_ran = terminal_for(record, outcome)
    never_ran = never_ran_code or never_ran
    record = await _enter_last_stage(ctx, record, terminal)
    record = await _plan_file_ids(ctx, record)
    lines = provider.fetch_results(job, record.provider_state) if provider and outcome else _no_lines()
    if record.legs:  # the lines earlier routes finished (gateway/worker/legs.py)
        lines = _chain(lines, carried_lines(ctx.services.storage, record))
    assembly = await assemble(
        storage=ctx.services.storage,
        spool_dir=ctx.spool_dir,
        lines=lines,
        custom_ids=read_custom_ids(ctx.services.storage, custom_ids_key(record.id)),
        output_key=f"files/{record.planned_output_file_id}",
        error_key=f"files/{record.planned_error_file_id}",
        never_ran_code=never_ran,
        endpoint=record.endpoint,
    )
    if terminal is BatchStatus.COMPLETED:  # the current leg's lines: earlier legs ran elsewhere
        await measure_throughput(ctx, record, assembly.completed - sum(leg.completed for leg in record.legs))
    await _publish(ctx, record, terminal, assembly, outcome)


async def _chain(*sources: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for source in sources:
        async for line in source:
            yield line


async def _enter_last_stage(ctx: WorkerContext, record: BatchRecord, terminal: BatchStatus) -> BatchRecord:
    """`finalizing` before completed/expired; `cancelling` before cancelled (also when the provider, not
    the user, cancelled the batch — the state machine reaches `cancelled` only through `cancelling`)."""
    stage = BatchStatus.CANCELLING if terminal is BatchStatus.CANCELLED else BatchStatus.FINALIZING
    if record.status is stage or (stage is BatchStatus.FINALIZING and record.status is not BatchStatus.IN_PROGRESS):
        return record
    try:
        moved = await ctx.services.batches.transition(record.id, stage, cause="provider finished", now=int(ctx.clock()))
    except IllegalTransitionError:
        return record
    return moved or record


async def _plan_file_ids(ctx: WorkerContext, record: BatchRecord) -> BatchRecord:
    if record.planned_output_file_id and record.planned_error_file_id:
        return record
    updates = {"planned_output_file_id": new_file_id(), "planned_error_file_id": new_file_id()}
    updated = await ctx.services.batches.update(record.id, updates)
    return updated or msgspec.structs.replace(record, **updates)


def _served(
    ctx: WorkerContext, record: BatchRecord, outcome: Finished | None, assembly: Assembly
) -> ServedTokens | None:
    """The current leg's tokens per price multiplier (earlier legs keep theirs in `record.legs`)."""
    route = current_route(ctx.services.settings, record)
    windows = route.price_windows if route is not None else []
    reported = outcome.served if outcome is not None else None
    return served_of(windows, reported, current_usage(record, assembly.usage), ctx.clock())


async def _publish(
    ctx: WorkerContext, record: BatchRecord, terminal: BatchStatus, assembly: Assembly, outcome: Finished | None
) -> None:
    now = int(ctx.clock())
    output_id = await _file_record(ctx, record, record.planned_output_file_id, assembly.output, now)
    error_id = await _file_record(ctx, record, record.planned_error_file_id, assembly.errors, now)
    updates = {
        "output_file_id": output_id,
        "error_file_id": error_id,
        "request_counts": RequestCounts(total=assembly.total, completed=assembly.completed, failed=assembly.failed),
        "usage": assembly.usage.to_openai_usage(),
        "served": _served(ctx, record, outcome, assembly),
    }
    # Cancelled while we assembled: the seal is refused and the next step repeats assembly as `cancelled`,
    # reusing these file ids.
    await end_batch(ctx, record, terminal, cause="results assembled", updates=updates)


async def _file_record(
    ctx: WorkerContext, record: BatchRecord, file_id: str | None, stored: AssembledFile | None, now: int
) -> str | None:
    if stored is None or file_id is None:
        return None
    expiry = record.output_expires_after_seconds or DEFAULT_OUTPUT_EXPIRY_SECONDS
    kind = "output" if file_id == record.planned_output_file_id else "error"
    await ctx.services.files.create(
        FileRecord(
            id=file_id,
            tenant=record.tenant,
            bytes=stored.bytes,
            created_at=now,
            filename=f"{record.id}_{kind}.jsonl",
            purpose="batch_output",
            storage_key=stored.storage_key,
            expires_at=now + expiry,
        )
    )
    return file_id
