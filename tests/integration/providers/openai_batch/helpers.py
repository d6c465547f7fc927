"""Shared helpers: input files, jobs, providers against a simulator, and driving a batch to its end."""

from __future__ import annotations

import asyncio
import time

import msgspec

from providers.base import BatchJob, Finished, Provider
from providers.openai_batch.provider import OpenAIBatchProvider
from providers.openai_batch.settings import OpenAIBatchSettings
from providers.retry import RetryPolicy
from tests.support.batch_upstream import BatchUpstream
from tests.support.blobs import DirBlobs

API_KEY = "sk-test-upstream-0123456789"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


def input_lines(count: int, model: str = "client-model", prefix: str = "req") -> list[bytes]:
    return [
        msgspec.json.encode(
            {
                "custom_id": f"{prefix}-{i:05d}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, "messages": [{"role": "user", "content": f"hello {i} " * (i % 5 + 1)}]},
            }
        )
        for i in range(count)
    ]


def make_job(
    blobs: DirBlobs, lines: list[bytes], *, batch_id: str = "batch_gw1", upstream_model: str = "up-model"
) -> BatchJob:
    data = b"".join(line + b"\n" for line in lines)
    key = f"input-{batch_id}"
    blobs.put(key, data)
    return BatchJob(
        batch_id=batch_id, tenant="t1", endpoint="/v1/chat/completions", model="client-model",
        upstream_model=upstream_model, input_key=key, input_bytes=len(data), total_requests=len(lines),
        expires_at=int(time.time()) + 86400,
    )  # fmt: skip


def settings_for(sim: BatchUpstream, **overrides: object) -> OpenAIBatchSettings:
    fields: dict[str, object] = {
        "base_url": sim.base_url, "api_key_env": "DEEPSEEK_API_KEY",
        "output_purpose": sim.options.output_purpose, "max_attempts": 4,
    }  # fmt: skip
    fields.update(overrides)
    return msgspec.convert(fields, OpenAIBatchSettings)


def make_provider(
    sim: BatchUpstream, blobs: DirBlobs, key: str | None = API_KEY, **overrides: object
) -> OpenAIBatchProvider:
    return OpenAIBatchProvider("deepseek", settings_for(sim, **overrides), blobs, key, retry=FAST_RETRY)


async def run_to_end(provider: Provider, job: BatchJob, state: bytes, limit: float = 10.0) -> tuple[Finished, bytes]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        outcome, state = await provider.poll(job, state)
        if isinstance(outcome, Finished):
            return outcome, state
        await asyncio.sleep(0.02)
    raise AssertionError("the batch did not finish in time")


async def collect(provider: Provider, job: BatchJob, state: bytes) -> list[dict[str, object]]:
    return [msgspec.json.decode(line) async for line in provider.fetch_results(job, state)]
