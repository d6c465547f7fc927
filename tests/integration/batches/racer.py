"""Racing lifecycle drivers: cancel, complete, expire and fail the same batches at once.

Run in-process by the concurrency tests, and as `python -m tests.integration.batches.racer URL SEED ID...`
to race from separate processes with their own connections.
"""

from __future__ import annotations

import asyncio
import random
import sys

import redis.asyncio as aioredis

from gateway.batches import BatchStatus, BatchStore, IllegalTransitionError

S = BatchStatus
ROLES: dict[str, list[BatchStatus]] = {
    "cancel": [S.CANCELLING, S.CANCELLED],
    "complete": [S.FINALIZING, S.COMPLETED],
    "expire": [S.EXPIRED],
    "fail": [S.FAILED],
}


async def drive(store: BatchStore, batch_id: str, role: str, rng: random.Random) -> None:
    """Walk the role's path; when a cancel got in first, finish the cancel as a worker would."""
    for step in ROLES[role]:
        await asyncio.sleep(rng.random() * 0.003)
        try:
            await store.transition(batch_id, step, cause=role, now=rng.randrange(10_000, 20_000))
        except IllegalTransitionError as refused:
            if refused.current is S.CANCELLING:
                await _finish_cancel(store, batch_id, role, rng)
            return


async def _finish_cancel(store: BatchStore, batch_id: str, role: str, rng: random.Random) -> None:
    try:
        await store.transition(batch_id, S.CANCELLED, cause=f"{role}:cancelled", now=rng.randrange(20_000, 30_000))
    except IllegalTransitionError as refused:
        assert refused.current is S.CANCELLED  # noqa: PT017 - only another finisher may have got there first


async def race(store: BatchStore, batch_ids: list[str], rng: random.Random, concurrency: int = 40) -> None:
    """Every role on every batch at once, at most `concurrency` in flight (the client's pool is bounded)."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded(batch_id: str, role: str) -> None:
        async with gate:
            await drive(store, batch_id, role, rng)

    jobs = [(batch_id, role) for batch_id in batch_ids for role in ROLES]
    rng.shuffle(jobs)
    await asyncio.gather(*(bounded(batch_id, role) for batch_id, role in jobs))


async def _main(url: str, seed: int, batch_ids: list[str]) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await race(BatchStore(client), batch_ids, random.Random(seed))
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
