"""Every store's multi-key scripts and transactions against a real Redis Cluster and a real Sentinel deployment.

A key of another slot in one script or MULTI fails here with CROSSSLOT; on the single node it never could.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from accounting.ledger import Ledger
from gateway.batches import BatchStatus, BatchStore, Schedule, TooManyBatchesInFlightError
from gateway.core.ids import new_file_id
from gateway.core.redis_types import RedisClient
from gateway.files.leases import UploadSlots
from gateway.files.records import FileRecord
from gateway.files.store import FileStore
from gateway.redis.client import open_redis
from tests.integration.accounting.support import make_record
from tests.integration.batches.support import new_record

S = BatchStatus


@pytest.fixture
async def client(topology_url: str) -> AsyncIterator[RedisClient]:
    redis = open_redis(topology_url)
    yield redis
    await redis.aclose()


async def test_batch_lifecycle_admission_and_indexes(client: RedisClient) -> None:
    store = BatchStore(client)
    first, second = new_record("acme"), new_record("acme")
    await store.create(first, max_in_flight=2)
    await store.create(second, max_in_flight=2)
    with pytest.raises(TooManyBatchesInFlightError):
        await store.create(new_record("acme"), max_in_flight=2)
    failed = await store.transition(first.id, S.FAILED, cause="test", now=2_000)
    assert failed is not None
    assert failed.status is S.FAILED
    third = new_record("acme")
    await store.create(third, max_in_flight=2)  # admitted once the failed batch is pruned from the in-flight set
    counts = await store.count_by_status()
    assert (counts[S.VALIDATING], counts[S.FAILED]) == (2, 1)
    records, has_more = await store.list("acme", limit=2)
    assert ([r.id for r in records], has_more) == ([third.id, second.id], True)
    assert await store.expired_candidates(now=100_000, limit=10) == sorted([second.id, third.id])
    updated = await store.update(second.id, {"provider": "deepseek"})
    assert updated is not None
    assert updated.provider == "deepseek"
    assert [event.to for event in await store.events(first.id)] == [S.VALIDATING, S.FAILED]


async def test_file_records_indexes_and_pages(client: RedisClient) -> None:
    store = FileStore(client)
    records = [
        FileRecord(
            id=new_file_id(), tenant="acme", bytes=3, created_at=1, filename="f", purpose="batch",
            storage_key=f"k{i}", expires_at=50 + i,
        )
        for i in range(3)
    ]  # fmt: skip
    for record in records:
        await store.create(record)
    page, has_more = await store.list_page("acme", purpose="batch", after=None, limit=2, order="asc")
    assert ([r.id for r in page], has_more) == ([records[0].id, records[1].id], True)
    assert await store.expired(now=51, limit=10) == [records[0].id, records[1].id]
    assert await store.delete(records[0])
    assert not await store.delete(records[0])
    assert await store.get(records[0].id, tenant=None) is None
    assert [r.id for r in await store.get_many([r.id for r in records])] == [records[1].id, records[2].id]


async def test_schedule_claims_and_fences(client: RedisClient) -> None:
    schedule = Schedule(client)
    assert await schedule.add("batch_a", 1_000)
    (claim,) = await schedule.claim(now_ms=1_000, lease_ms=500, limit=5)
    assert await schedule.claim(now_ms=1_100, lease_ms=500, limit=5) == []
    assert await schedule.renew(claim, now_ms=1_200, lease_ms=500)
    assert await schedule.remove(claim)
    assert await schedule.size() == 0
    await schedule.add("batch_b", 1)
    await schedule.discard("batch_b")
    assert await schedule.due_at("batch_b") is None


async def test_ledger_budget_release_and_settle_once(client: RedisClient) -> None:
    ledger = Ledger(client)
    granted, _, _ = await ledger.reserve_within("research", "batch_1", Decimal("1.5"), "2026-01", Decimal("2"))
    assert granted
    assert await ledger.release("batch_1")
    assert not await ledger.release("batch_1")
    await ledger.reserve("research", "batch_2", Decimal("0.7"), "2026-01")
    record = make_record("batch_2", list_usd="0.4", discount="0.5")
    assert await ledger.settle(record)
    assert not await ledger.settle(record)
    assert await ledger.month_spend("research", "2026-01") == (Decimal("0.2"), Decimal(0))
    assert [r.batch_id for r in (await ledger.list()).data] == ["batch_2"]


async def test_upload_slots(client: RedisClient) -> None:
    slots = UploadSlots(client, limit=1)
    async with slots.hold("acme") as first, slots.hold("acme") as second:
        assert (first, second) == (True, False)
    async with slots.hold("acme") as again:
        assert again
