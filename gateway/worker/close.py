"""A terminal batch's last step: release leftovers, leave the schedule.

Its cost was settled before its status turned terminal (`settle.py`); settling again here changes nothing
(the ledger's Lua guard) and covers records made terminal before seals existed.
"""

from __future__ import annotations

import contextlib

import msgspec

from gateway.batches import BatchRecord, Claim, leg_batch_id
from gateway.storage.local import StorageError
from gateway.webhooks import enqueue_batch_event
from gateway.worker.context import WorkerContext, job_for, log
from gateway.worker.custom_ids import custom_ids_key
from gateway.worker.defer import release_deferral
from gateway.worker.legs import HAND_OVER_PREFIX
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
    await _clean_earlier_legs(ctx, record)
    with contextlib.suppress(StorageError):
        await ctx.services.storage.delete(custom_ids_key(record.id))
    await ctx.services.schedule.remove(claim)


async def _clean_earlier_legs(ctx: WorkerContext, record: BatchRecord) -> None:
    """Each earlier route's upstream leftovers, and the objects the hand-overs stored (never the user's input)."""
    current = job_for(record, None)
    for leg in record.legs:
        provider = ctx.providers.get(leg.provider)
        if provider is not None and leg.provider_state:
            job = msgspec.structs.replace(
                current, batch_id=leg_batch_id(record.id, leg.route_index), upstream_model=leg.upstream_model,
                input_key=leg.input_key, total_requests=leg.requests,
            )  # fmt: skip
            try:
                await provider.cleanup(job, leg.provider_state)
            except ProviderError as exc:
                log.warning("provider_cleanup_failed", batch_id=record.id, leg=leg.route_index, error=str(exc))
    stored = {leg.results_key for leg in record.legs} | {leg.input_key for leg in record.legs}
    stored.add(record.leg_input_key)
    for key in stored:
        if key is not None and key.startswith(HAND_OVER_PREFIX):
            with contextlib.suppress(StorageError):
                await ctx.services.storage.delete(key)
