"""A batch that ends before it was routed to a provider — its window ended while it waited for validation, or
it was cancelled while validating: nothing ran, so every line of its input goes to the error file as
`batch_expired` / `batch_cancelled` (the contract: every custom_id exactly once in a terminal batch).

Safe to repeat: the custom_id list is rewritten from the input and the result files reuse planned ids.
"""

from __future__ import annotations

from gateway.batches import BatchRecord, BatchStatus
from gateway.storage.local import ObjectMissing
from gateway.worker.context import WorkerContext, job_for
from gateway.worker.custom_ids import CustomIdRecorder, custom_ids_key
from gateway.worker.finish import finish_batch
from gateway.worker.settle import end_batch

__all__ = ["finish_unrouted"]


async def finish_unrouted(ctx: WorkerContext, record: BatchRecord) -> None:
    services = ctx.services
    input_file = await services.files.get(record.input_file_id, tenant=record.tenant)
    recorder = CustomIdRecorder(ctx.spool_dir)
    try:
        if input_file is None:
            raise ObjectMissing("input file record missing")
        async for chunk in services.storage.open_read(input_file.storage_key):
            recorder.feed(chunk)
        await recorder.store(services.storage, custom_ids_key(record.id))
    except ObjectMissing:  # other storage errors are transient: the step policy retries them
        # The input is gone: there is no list of requests to report, only the status to set.
        cancelled = record.status is BatchStatus.CANCELLING
        terminal = BatchStatus.CANCELLED if cancelled else BatchStatus.EXPIRED
        cause = "cancelled before validation" if cancelled else "window ended before validation"
        await end_batch(ctx, record, terminal, cause=cause)
        return
    finally:
        recorder.discard()
    await finish_batch(ctx, record, job_for(record, input_file), None, None)
