"""The worker's sweeps against real Redis and storage: expired files, batches that lost their schedule
entry (a crash between create and schedule), batches whose window ended."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from gateway.batches import BatchRecord
from gateway.config.settings import Settings
from gateway.files.records import FileRecord
from gateway.redis import keys
from gateway.services import Services, open_services
from gateway.worker.context import WorkerContext
from gateway.worker.loop import Worker
from gateway.worker.providers import ProviderSet


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[tuple[Worker, Services]]:
    services = open_services(settings)
    ctx = WorkerContext(services, ProviderSet({}), services.ledger, services.metrics, lease_ms=1000)
    yield Worker(ctx), services
    await services.aclose()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_expired_files_lose_record_and_content(worker: tuple[Worker, Services]) -> None:
    sweeper, services = worker
    now = int(time.time())
    for file_id, expires_at in (("file-old", now - 1), ("file-young", now + 3600)):
        await services.storage.write(f"files/{file_id}", _chunks(b"{}\n"))
        record = FileRecord(
            id=file_id, tenant="alpha", bytes=3, created_at=now - 10, filename="a.jsonl", purpose="batch",
            storage_key=f"files/{file_id}", expires_at=expires_at,
        )  # fmt: skip
        await services.files.create(record)
    await sweeper.sweep_once()
    assert await services.files.get("file-old", tenant=None) is None
    assert not await services.storage.exists("files/file-old")
    assert await services.files.get("file-young", tenant=None) is not None
    assert await services.storage.exists("files/file-young")


async def test_unscheduled_and_expired_batches_are_woken(worker: tuple[Worker, Services]) -> None:
    sweeper, services = worker
    now = int(time.time())
    lost = BatchRecord(
        id="batch_lost", tenant="alpha", endpoint="/v1/chat/completions", input_file_id="file-x",
        created_at=now - 3600, expires_at=now + 3600,
    )  # fmt: skip
    ended = BatchRecord(
        id="batch_ended", tenant="alpha", endpoint="/v1/chat/completions", input_file_id="file-x",
        created_at=now - 10, expires_at=now - 1,
    )  # fmt: skip
    await services.batches.create(lost)
    await services.batches.create(ended)
    # Neither is on the schedule. `lost` entered validating long ago (a create that died before scheduling).
    await services.redis.zadd(keys.batches_by_status("validating"), {"batch_lost": now - 3600}, xx=True)
    await sweeper.sweep_once()
    assert await services.schedule.due_at("batch_lost") is not None
    assert await services.schedule.due_at("batch_ended") is not None
