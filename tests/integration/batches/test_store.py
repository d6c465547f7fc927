from __future__ import annotations

import msgspec
import pytest
import redis.asyncio as aioredis

from gateway.batches import NON_TERMINAL, BatchRecord, BatchStatus, BatchStore, RequestCounts
from gateway.core.ids import new_batch_id
from gateway.redis import keys
from tests.integration.batches.support import new_record

S = BatchStatus


@pytest.fixture
def store(redis_client: aioredis.Redis) -> BatchStore:
    return BatchStore(redis_client)


async def _create_many(store: BatchStore, tenant: str, count: int) -> list[BatchRecord]:
    records = [new_record(tenant) for _ in range(count)]
    for record in records:
        await store.create(record)
    return records


async def test_create_then_get_round_trips_and_hides_other_tenants(store: BatchStore) -> None:
    record = msgspec.structs.replace(new_record("acme"), metadata={"k": "v"}, provider="deepseek", input_bytes=12)
    await store.create(record)
    assert await store.get(record.id, tenant="acme") == record
    assert await store.get(record.id, tenant=None) == record
    assert await store.get(record.id, tenant="other") is None
    assert await store.get(new_batch_id(), tenant="acme") is None
    events = await store.events(record.id)
    assert [(e.from_status, e.to, e.cause) for e in events] == [(None, S.VALIDATING, "created")]


async def _all_pages(store: BatchStore, tenant: str, limit: int) -> list[list[str]]:
    pages, after = [], None
    while True:
        records, has_more = await store.list(tenant, after=after, limit=limit)
        pages.append([r.id for r in records])
        if not has_more:
            return pages
        after = records[-1].id


async def test_list_pages_newest_first_with_exact_has_more(store: BatchStore) -> None:
    records = await _create_many(store, "acme", 7)
    await _create_many(store, "other", 3)
    newest_first = [r.id for r in reversed(records)]
    assert await _all_pages(store, "acme", 3) == [newest_first[0:3], newest_first[3:6], newest_first[6:]]
    assert await _all_pages(store, "acme", 7) == [newest_first]  # exactly full: has_more is False
    assert await _all_pages(store, "acme", 100) == [newest_first]
    assert await _all_pages(store, "nobody", 5) == [[]]


async def test_list_after_the_last_or_an_unknown_id(store: BatchStore) -> None:
    old = await _create_many(store, "acme", 2)
    never_stored = new_batch_id()  # an id minted between the two groups, as if deleted since
    new = await _create_many(store, "acme", 2)
    assert await store.list("acme", after=old[0].id, limit=10) == ([], False)
    records, has_more = await store.list("acme", after=never_stored, limit=1)
    assert ([r.id for r in records], has_more) == ([old[1].id], True)
    records, _ = await store.list("acme", after=new_batch_id(), limit=10)  # newer than all: everything
    assert [r.id for r in records] == [new[1].id, new[0].id, old[1].id, old[0].id]
    other, _ = await store.list("other", after=None, limit=10)
    assert other == []


async def test_update_sets_fields_but_never_on_a_terminal_batch(store: BatchStore) -> None:
    record = new_record()
    await store.create(record)
    counts = RequestCounts(total=5, completed=1)
    updated = await store.update(record.id, {"request_counts": counts, "provider_state": b"s1"})
    assert updated is not None
    assert updated.request_counts == counts
    assert updated.provider_state == b"s1"
    assert await store.update(record.id, {"attempts": 1}, only_if_status_in={S.IN_PROGRESS}) is None
    await store.transition(record.id, S.FAILED, cause="bad file", now=5)
    assert await store.update(record.id, {"attempts": 9}, only_if_status_in=set(BatchStatus)) is None
    assert await store.update(new_batch_id(), {"attempts": 9}) is None
    final = await store.get(record.id, tenant=None)
    assert final is not None
    assert final.attempts == 0
    assert final.provider_state == b"s1"
    with pytest.raises(ValueError, match="at least one"):
        await store.update(record.id, {})


async def test_counts_sweeps_and_expiry_candidates(store: BatchStore, redis_client: aioredis.Redis) -> None:
    soon, later, never = new_record(expires_at=100), new_record(expires_at=500), new_record(expires_at=None)
    for record in (soon, later, never):
        await store.create(record)
    await store.transition(later.id, S.IN_PROGRESS, cause="ok", now=20)
    assert await store.expired_candidates(now=99, limit=10) == []
    assert await store.expired_candidates(now=100, limit=10) == [soon.id]
    assert await store.expired_candidates(now=10_000, limit=10) == [soon.id, later.id]
    assert await store.expired_candidates(now=10_000, limit=1) == [soon.id]
    await store.transition(soon.id, S.EXPIRED, cause="window", now=101)
    assert await store.expired_candidates(now=10_000, limit=10) == [later.id]
    counts = await store.count_by_status()
    assert counts == {s: {S.VALIDATING: 1, S.IN_PROGRESS: 1, S.EXPIRED: 1}.get(s, 0) for s in BatchStatus}
    assert await store.in_status(S.IN_PROGRESS, entered_before=19, limit=10) == []
    assert await store.in_status(S.IN_PROGRESS, entered_before=20, limit=10) == [later.id]
    assert set(NON_TERMINAL) == {S.VALIDATING, S.IN_PROGRESS, S.FINALIZING, S.CANCELLING}
    assert await redis_client.type(keys.batch_record(soon.id)) == b"hash"
