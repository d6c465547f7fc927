"""Crash-safe submission: whatever died between upload, create and recording the id, one upstream batch per shard.

Every upstream batch carries our batch id and shard index in its metadata and every upload a filename
derived from them. Before uploading or creating, submit looks for what an earlier attempt left upstream and
reuses it; a create that failed retryably (the upstream may have committed it anyway) is followed by a look
at the batch list before it is tried again.

Each shard is recorded on the gateway's batch (`save_state`) as soon as its upstream batch exists, and each
create is preceded by a lease check (`check_lease`): a worker paused past its lease stops before it creates
a second upstream batch for a batch its successor already submitted. What the lease check cannot stop is a
worker paused during its create call: its successor may create the shard's batch too, and then the paused
worker's create lands. That worker's save is refused (`LeaseLostError`), so before it stops it cancels its
new batch once the upstream shows another one for the same shard (see `_drop_if_duplicate`).

A shard whose create is refused for good after earlier shards were created does not orphan them: it and
every shard not yet created are marked `failed` with the refusal, and the earlier upstream batches are
followed to the end like any other (their results kept, their cost settled; the failed shards' requests
come back as error lines, see `aggregate`). Refused on the first shard, nothing ran: the error propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog

from providers.base import BatchJob, BlobStore, ProviderError
from providers.fencing import LeaseLostError, check_lease, save_state
from providers.openai_batch.api import UpstreamApi
from providers.openai_batch.lines import Rewrite, shard_chunks
from providers.openai_batch.retry import backoff_delay
from providers.openai_batch.state import Shard, State, encode_state
from providers.openai_batch.wire import BatchView, FileView

__all__ = ["LOOKBACK_SECONDS", "filename", "find_batches", "start_shards", "unstarted"]

# How far before the end of its completion window an upstream batch of ours can have been created
# (OpenAI-style windows are 24 h; a week of margin covers operators' longer windows and clock skew).
LOOKBACK_SECONDS = 7 * 86400
# Upstream batches that cannot be the shard's live batch: cancelled ones are earlier strays we dropped.
_DROPPED = frozenset({"cancelling", "cancelled"})
_log = structlog.get_logger(__name__)


def filename(job: BatchJob, shard: Shard) -> str:
    return f"batchgate-{job.batch_id}-{shard.index}.jsonl"


def metadata(job: BatchJob, shard: Shard, shards: int) -> dict[str, str]:
    return {"batchgate_batch_id": job.batch_id, "batchgate_shard": str(shard.index), "batchgate_shards": str(shards)}


async def find_batches(api: UpstreamApi, job: BatchJob) -> dict[int, BatchView]:
    """Upstream batches already created for this job, by shard index (the newest wins)."""
    found: dict[int, BatchView] = {}
    async for batch in api.batches_since(job.expires_at - LOOKBACK_SECONDS):
        meta = batch.metadata or {}
        if meta.get("batchgate_batch_id") == job.batch_id and meta.get("batchgate_shard", "").isdigit():
            found.setdefault(int(meta["batchgate_shard"]), batch)
    return found


def unstarted(state: State) -> list[Shard]:
    """Shards still waiting for their upstream batch (a submit interrupted by a retryable error or a crash)."""
    return [shard for shard in state.shards if shard.batch_id is None and not shard.terminal]


async def start_shards(api: UpstreamApi, blobs: BlobStore, job: BatchJob, state: State, rewrite: Rewrite) -> None:
    """Give every unstarted shard of `state` an upstream batch, reusing earlier attempts' batches and uploads."""
    missing = unstarted(state)
    existing = await find_batches(api, job) if missing else {}
    uploads = await api.uploaded() if any(shard.index not in existing for shard in missing) else {}
    for position, shard in enumerate(missing):
        batch = existing.get(shard.index)
        created = batch is None
        if batch is None:
            file = _reusable(uploads, job, shard) or await _upload(api, blobs, job, shard, rewrite)
            shard.input_file_id = file.id
            await check_lease()
            try:
                batch = await _create(api, job, shard, metadata(job, shard, len(state.shards)))
            except ProviderError as exc:
                if exc.retryable or not any(s.batch_id for s in state.shards):
                    raise
                _refused(job, missing[position:], exc)
                await save_state(encode_state(state))
                return
        shard.batch_id, shard.status = batch.id, batch.status
        shard.input_file_id = batch.input_file_id or shard.input_file_id
        _log.info("upstream_batch", batch_id=job.batch_id, shard=shard.index, upstream_batch_id=batch.id)
        try:
            await save_state(encode_state(state))
        except LeaseLostError:
            if created:
                await _drop_if_duplicate(api, job, shard.index, batch.id)
            raise


async def _drop_if_duplicate(api: UpstreamApi, job: BatchJob, shard: int, upstream_id: str) -> None:
    """Cancel `upstream_id`, a batch created for `shard` by a step whose claim was lost before it could record
    it, once the upstream shows another batch for that shard: the new holder created its own, so ours would
    run and bill with nobody fetching it. Alone, it is not cancelled: the new holder may have found it
    (`find_batches`) and adopted it. A new holder's create still in flight shows up within a few looks
    (bounded by the retry policy); best effort, and never raises: the caller re-raises LeaseLostError."""
    policy = api.up.policy
    try:
        for attempt in range(1, policy.attempts + 1):
            others = [
                batch
                async for batch in _shard_batches(api, job, shard)
                if batch.id != upstream_id and batch.status not in _DROPPED
            ]
            if others:
                await api.cancel(upstream_id)
                _log.warning("orphan_cancelled", batch_id=job.batch_id, shard=shard, upstream_batch_id=upstream_id,
                             kept_upstream_batch_id=others[0].id)  # fmt: skip
                return
            if attempt < policy.attempts:
                await asyncio.sleep(backoff_delay(policy, attempt))
    except ProviderError as exc:
        _log.warning("orphan_cancel_failed", batch_id=job.batch_id, shard=shard, upstream_batch_id=upstream_id,
                     error=str(exc))  # fmt: skip
        return
    _log.info("orphan_left_for_successor", batch_id=job.batch_id, shard=shard, upstream_batch_id=upstream_id)


async def _shard_batches(api: UpstreamApi, job: BatchJob, shard: int) -> AsyncIterator[BatchView]:
    async for batch in api.batches_since(job.expires_at - LOOKBACK_SECONDS):
        meta = batch.metadata or {}
        if meta.get("batchgate_batch_id") == job.batch_id and meta.get("batchgate_shard") == str(shard):
            yield batch


def _refused(job: BatchJob, shards: list[Shard], exc: ProviderError) -> None:
    for shard in shards:
        shard.status = "failed"
        shard.errors = [(exc.code, f"The upstream refused this part of the batch: {exc}", None, None)]
    _log.warning("upstream_shards_refused", batch_id=job.batch_id, shards=[s.index for s in shards], error=str(exc))


def _reusable(uploads: dict[str, FileView], job: BatchJob, shard: Shard) -> FileView | None:
    file = uploads.get(filename(job, shard))
    return file if file is not None and file.bytes == shard.bytes else None


async def _upload(api: UpstreamApi, blobs: BlobStore, job: BatchJob, shard: Shard, rewrite: Rewrite) -> FileView:
    return await api.upload(filename(job, shard), shard.bytes, lambda: shard_chunks(blobs, job, shard, rewrite))


async def _create(api: UpstreamApi, job: BatchJob, shard: Shard, meta: dict[str, str]) -> BatchView:
    assert shard.input_file_id is not None  # set by the caller just before
    policy = api.up.policy
    for attempt in range(1, policy.attempts + 1):
        try:
            return await api.create(shard.input_file_id, job.endpoint, meta)
        except ProviderError as exc:
            if not exc.retryable or attempt == policy.attempts:
                raise
        await asyncio.sleep(backoff_delay(policy, attempt))
        committed = (await find_batches(api, job)).get(shard.index)
        if committed is not None:
            return committed
    raise AssertionError("unreachable: the last attempt returns or raises")
