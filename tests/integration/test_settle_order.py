"""Terminal means settled, at the worker's level, against real Redis: the ledger is written while the batch
still looks non-terminal, a crash between seal and transition is completed by the next step, and a step
whose claim was taken over stops without writing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from accounting.ledger import Ledger
from accounting.records import LedgerRecord
from gateway.batches import BatchRecord, BatchStatus, BatchUsage, RequestCounts
from gateway.config.settings import Settings
from gateway.services import Services, open_services
from gateway.worker.context import WorkerContext
from gateway.worker.providers import ProviderSet
from gateway.worker.runner import advance
from gateway.worker.settle import end_batch

S = BatchStatus


class StatusAtSettlement(Ledger):
    """The real ledger, noting the batch's visible status at the moment its record is written."""

    def __init__(self, services: Services) -> None:
        super().__init__(services.redis)
        self.services = services
        self.seen: list[BatchStatus] = []

    async def settle(self, record: LedgerRecord) -> bool:
        batch = await self.services.batches.get(record.batch_id, tenant=None)
        assert batch is not None
        self.seen.append(batch.status)
        return await super().settle(record)


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[WorkerContext]:
    services = open_services(settings)
    yield WorkerContext(services, ProviderSet({}), StatusAtSettlement(services), services.metrics, lease_ms=1000)
    await services.aclose()


async def _finalizing(ctx: WorkerContext) -> BatchRecord:
    now = int(time.time())
    record = BatchRecord(
        id=f"batch_settle_{time.monotonic_ns()}", tenant="alpha", endpoint="/v1/chat/completions",
        input_file_id="file-x", created_at=now - 5, expires_at=now + 3600, model="m", provider="none",
        request_counts=RequestCounts(total=2, completed=2),
        usage=BatchUsage(input_tokens=30, output_tokens=12, total_tokens=42),
    )  # fmt: skip
    await ctx.services.batches.create(record)
    await ctx.services.batches.transition(record.id, S.IN_PROGRESS, cause="routed", now=now)
    moved = await ctx.services.batches.transition(record.id, S.FINALIZING, cause="done", now=now)
    assert moved is not None
    return moved


async def test_the_ledger_is_written_before_the_status_turns_terminal(ctx: WorkerContext) -> None:
    record = await _finalizing(ctx)
    done = await end_batch(ctx, record, S.COMPLETED, cause="results assembled")
    assert done is not None
    assert done.status is S.COMPLETED
    assert isinstance(ctx.ledger, StatusAtSettlement)
    assert ctx.ledger.seen == [S.FINALIZING]
    settled = await ctx.ledger.get(record.id)
    assert settled is not None
    assert (settled.status, settled.input_tokens, settled.output_tokens) == ("completed", 30, 12)
    assert settled.settled_at == done.completed_at


async def test_a_crash_after_the_seal_is_completed_by_the_next_step(ctx: WorkerContext) -> None:
    record = await _finalizing(ctx)
    sealed = await ctx.services.batches.seal(record.id, S.EXPIRED, now=record.created_at + 3)  # then "crash"
    assert sealed is not None
    await ctx.services.schedule.add(record.id, 0)
    (claim,) = await ctx.services.schedule.claim(int(time.time() * 1000), 1000, 1)
    await advance(ctx, claim)
    batch = await ctx.services.batches.get(record.id, tenant=None)
    settled = await ctx.ledger.get(record.id)
    assert batch is not None
    assert settled is not None
    assert (batch.status, batch.expired_at) == (S.EXPIRED, record.created_at + 3)
    assert (settled.status, settled.settled_at, settled.input_tokens) == ("expired", record.created_at + 3, 30)


async def test_a_step_whose_claim_was_taken_over_writes_nothing(ctx: WorkerContext) -> None:
    record = await _finalizing(ctx)
    schedule = ctx.services.schedule
    await schedule.add(record.id, 0)
    (stale,) = await schedule.claim(int(time.time() * 1000) - 5000, 1, 1)  # its lease is already over
    (fresh,) = await schedule.claim(int(time.time() * 1000), 60_000, 1)
    assert await ctx.services.batches.adopt(fresh) is not None
    await advance(ctx, stale)  # would finish the batch (no provider): stops quietly instead
    batch = await ctx.services.batches.get(record.id, tenant=None)
    assert batch is not None
    assert batch.status is S.FINALIZING
    assert batch.fence_token == fresh.token
    assert await ctx.ledger.get(record.id) is None
