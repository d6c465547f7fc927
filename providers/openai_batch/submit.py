"""Crash-safe submission: whatever died between upload, create and recording the id, one upstream batch per shard.

Every upstream batch carries our batch id and shard index in its metadata and every upload a filename
derived from them. Before uploading or creating, submit looks for what an earlier attempt left upstream and
reuses it; a create that failed retryably (the upstream may have committed it anyway) is followed by a look
at the batch list before it is tried again.
"""

from __future__ import annotations

import asyncio

import structlog

from providers.base import BatchJob, BlobStore, ProviderError
from providers.openai_batch.api import UpstreamApi
from providers.openai_batch.lines import Rewrite, shard_chunks
from providers.openai_batch.state import Shard
from providers.openai_batch.wire import BatchView, FileView
from providers.retry import backoff_seconds

__all__ = ["LOOKBACK_SECONDS", "filename", "find_batches", "start_shards"]

# How far before the end of its completion window an upstream batch of ours can have been created
# (OpenAI-style windows are 24 h; a week of margin covers operators' longer windows and clock skew).
LOOKBACK_SECONDS = 7 * 86400
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


async def start_shards(
    api: UpstreamApi, blobs: BlobStore, job: BatchJob, shards: list[Shard], rewrite: Rewrite
) -> None:
    """Give every shard an upstream batch, reusing earlier attempts' batches and uploads."""
    existing = await find_batches(api, job)
    missing = [shard for shard in shards if shard.index not in existing]
    uploads = await api.uploaded() if missing else {}
    for shard in shards:
        batch = existing.get(shard.index)
        if batch is None:
            file = _reusable(uploads, job, shard) or await _upload(api, blobs, job, shard, rewrite)
            shard.input_file_id = file.id
            batch = await _create(api, job, shard, metadata(job, shard, len(shards)))
        shard.batch_id, shard.status = batch.id, batch.status
        shard.input_file_id = batch.input_file_id or shard.input_file_id
        _log.info("upstream_batch", batch_id=job.batch_id, shard=shard.index, upstream_batch_id=batch.id)


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
        await asyncio.sleep(backoff_seconds(policy, attempt))
        committed = (await find_batches(api, job)).get(shard.index)
        if committed is not None:
            return committed
    raise AssertionError("unreachable: the last attempt returns or raises")
