"""`OpenAIBatchProvider`: DeepSeek, DeepInfra or any OpenAI-compatible batch API as a `providers.base.Provider`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import msgspec
import structlog

from providers.base import BatchJob, BlobStore, PollOutcome, ProviderError, UpstreamObserver
from providers.openai_batch.aggregate import apply_view, outcome
from providers.openai_batch.api import UpstreamApi
from providers.openai_batch.client import TIMEOUT_CALL, Upstream
from providers.openai_batch.lines import plan_shards, rewriter, shard_lines
from providers.openai_batch.settings import OpenAIBatchSettings
from providers.openai_batch.state import Shard, State, decode_state, encode_state
from providers.openai_batch.submit import start_shards, unstarted
from providers.retry import RetryPolicy

__all__ = ["OpenAIBatchProvider"]

_log = structlog.get_logger(__name__)
_encode = msgspec.json.encode


class _CustomId(msgspec.Struct):
    custom_id: str


_custom_id = msgspec.json.Decoder(_CustomId)


class OpenAIBatchProvider:
    """One upstream batch API. Holds one long-lived HTTP client (its own unless `client` is given)."""

    def __init__(
        self, name: str, settings: OpenAIBatchSettings, blobs: BlobStore, api_key: str | None, *,
        client: httpx.AsyncClient | None = None, retry: RetryPolicy | None = None,
        observe: UpstreamObserver | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.settings = settings
        self._blobs = blobs
        self._own_client = client is None
        limits = httpx.Limits(max_connections=settings.max_concurrency, max_keepalive_connections=16)
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_CALL, limits=limits, follow_redirects=False)
        policy = retry or RetryPolicy.of(settings)
        self._api = UpstreamApi(Upstream(name, settings, api_key, self._client, policy, observe))

    def __repr__(self) -> str:
        return f"OpenAIBatchProvider(name={self.name!r}, base_url={self.settings.base_url!r})"

    async def submit(self, job: BatchJob) -> bytes:
        if not self._api.up.has_key:
            raise self._api.up.auth_error("no API key is configured")
        rewrite = rewriter(job)
        limits = self.settings.max_requests_per_batch, self.settings.max_bytes_per_batch
        shards = await plan_shards(self._blobs, job, rewrite, *limits)
        if not shards:
            raise ProviderError(f"provider {self.name!r}: batch {job.batch_id} has no requests", retryable=False)
        state = State(shards=shards)
        await start_shards(self._api, self._blobs, job, state, rewrite)
        return encode_state(state)

    async def poll(self, job: BatchJob, state: bytes) -> tuple[PollOutcome, bytes]:
        current = decode_state(state)
        await self._resume_submit(job, current)
        # One GET per unfinished upstream batch; ended shards are not asked again.
        active = [shard for shard in current.shards if not shard.terminal and shard.batch_id]
        views = await asyncio.gather(*(self._api.retrieve(shard.batch_id or "") for shard in active))
        for shard, view in zip(active, views, strict=True):
            apply_view(shard, view)
        return outcome(current), encode_state(current)

    async def _resume_submit(self, job: BatchJob, current: State) -> None:
        """A submit cut short after some shards were recorded: create the rest, unless a cancel came first."""
        if not unstarted(current):
            return
        if current.cancel_requested:
            for shard in unstarted(current):
                shard.status = "cancelled"  # never started upstream: its lines come back as never run
            return
        await start_shards(self._api, self._blobs, job, current, rewriter(job))

    async def cancel(self, job: BatchJob, state: bytes) -> bytes:
        current = decode_state(state)
        current.cancel_requested = True
        active = [shard.batch_id for shard in current.shards if not shard.terminal and shard.batch_id]
        await asyncio.gather(*(self._api.cancel(batch_id) for batch_id in active))
        _log.info("upstream_cancel", provider=self.name, batch_id=job.batch_id, shards=len(active))
        return encode_state(current)

    async def fetch_results(self, job: BatchJob, state: bytes) -> AsyncIterator[bytes]:
        current = decode_state(state)
        ran = any(shard.status != "failed" for shard in current.shards)
        for shard in current.shards:
            if shard.status == "failed" and ran:
                async for line in self._failed_lines(job, shard):
                    yield line
                continue
            for file_id in (shard.output_file_id, shard.error_file_id):
                if file_id is not None:
                    async for line in self._api.lines(file_id):
                        yield line

    async def _failed_lines(self, job: BatchJob, shard: Shard) -> AsyncIterator[bytes]:
        """Error lines for a shard the upstream refused while other shards ran (see `aggregate`)."""
        error = {"code": "batch_failed", "message": "The upstream rejected this part of the batch."}
        async for line in shard_lines(self._blobs, job, shard):
            custom_id = _custom_id.decode(line).custom_id
            yield _encode(
                {
                    "id": f"batch_req_{job.batch_id}_{custom_id}",
                    "custom_id": custom_id,
                    "response": None,
                    "error": error,
                }
            )

    async def cleanup(self, job: BatchJob, state: bytes) -> None:
        if not self.settings.delete_upstream_files:
            return
        for shard in decode_state(state).shards:
            for file_id in (shard.input_file_id, shard.output_file_id, shard.error_file_id):
                if file_id is not None:
                    await self._delete(file_id)

    async def _delete(self, file_id: str) -> None:
        try:
            await self._api.delete_file(file_id)
        except ProviderError as exc:
            if exc.retryable or exc.code == "provider_auth_failed":
                raise  # a 404 (already gone) is fine; anything else is tried again later

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()
