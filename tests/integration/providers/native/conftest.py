from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from providers.native.provider import NativeProvider
from providers.native.settings import NativeSettings
from providers.native.tuning import NativeTuning
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream

FAST = NativeTuning(
    chunk_lines=50,
    claim_idle_seconds=2.0,
    cancel_grace_seconds=1.0,
    shutdown_grace_seconds=2.0,
)


@pytest.fixture
def upstream() -> Iterator[RealtimeUpstream]:
    with RealtimeUpstream() as server:
        yield server


@pytest.fixture
def blobs(tmp_path: Path) -> DirBlobs:
    return DirBlobs(tmp_path / "blobs")


def settings_for(upstream: RealtimeUpstream, **overrides: object) -> NativeSettings:
    values: dict[str, object] = {
        "base_url": upstream.base_url, "max_concurrency": 16,
        "retry_base_seconds": 0.02, "retry_max_seconds": 0.2,
    }  # fmt: skip
    return NativeSettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
async def make_provider(
    redis_client: aioredis.Redis, blobs: DirBlobs, upstream: RealtimeUpstream
) -> AsyncIterator[object]:
    made: list[NativeProvider] = []

    def make(tuning: NativeTuning = FAST, worker_id: str = "w1", **overrides: object) -> NativeProvider:
        provider = NativeProvider(
            "local", settings_for(upstream, **overrides), redis_client, blobs, "sk-upstream-secret",
            worker_id=worker_id, tuning=tuning,
        )  # fmt: skip
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()
