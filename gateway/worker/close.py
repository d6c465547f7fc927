"""A terminal batch's last step: release leftovers, leave the schedule.

Its cost was settled before its status turned terminal (`settle.py`); settling again here changes nothing
(the ledger's Lua guard) and covers records made terminal before seals existed.
"""

from __future__ import annotations

import contextlib

from gateway.batches import BatchRecord, Claim
from gateway.storage.local import StorageError
from gateway.webhooks import enqueue_batch_event
from gateway.worker.context import WorkerContext, job_for, log
from gateway.worker.custom_ids import custom_ids_key
from gateway.worker.defer import release_deferral
from gateway.worker.settle import settle_batch, usage_of
from providers.base import ProviderError

__all__ = ["close_batch", "settle_batch", "usage_of"]


async def close_batch(ctx: WorkerContext, record: BatchRecord, claim: Claim) -> None:
    await settle_batch(ctx, record)
    await enqueue_batch_event(ctx.services.redis, record)  # after settlement: receivers read final figures
    await ctx.ledger.release(record.id)
    if record.deferred_until is not None:  # however it ended, its lines no longer wait
        await release_deferral(ctx, record)
    provider = ctx.providers.get(record.provider or "")
    if provider is not None and record.provider_state:
        try:
            await provider.cleanup(job_for(record, None), record.provider_state)
        except ProviderError as exc:
            log.warning("provider_cleanup_failed", batch_id=record.id, error=str(exc))
    with contextlib.suppress(StorageError):
        await ctx.services.storage.delete(custom_ids_key(record.id))
    await ctx.services.schedule.remove(claim)
