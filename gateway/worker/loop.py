"""The worker loop: claim due batches from the shared schedule, advance each one step, run sweeps.

Any number of workers share the schedule. A claim is a lease renewed while a step runs; a worker that
dies simply stops renewing, and the batch becomes due again for the others. Stopping (SIGTERM) stops
claiming at once, lets running steps finish within a grace period, then cancels them — their batches
come back after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from gateway.batches import NON_TERMINAL, Claim
from gateway.worker.context import WorkerContext, log, now_ms
from gateway.worker.runner import advance_safely
from providers.base import SelfExecuting

__all__ = ["Worker"]

SWEEP_SECONDS = 5.0
PARTIALS_SWEEP_SECONDS = 600.0  # walks the whole storage tree, so less often than the other sweeps
IDLE_SECONDS = 0.2
RESYNC_AFTER_SECONDS = 60
_SWEEP_LIMIT = 500


class Worker:
    def __init__(self, ctx: WorkerContext, *, concurrency: int = 16, grace_seconds: float = 10.0) -> None:
        self.ctx = ctx
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._grace = grace_seconds
        self._steps: set[asyncio.Task[None]] = set()
        self._partials_swept_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        executors = [
            asyncio.create_task(provider.run(stop), name="provider-run")
            for provider in self.ctx.providers.all()
            if isinstance(provider, SelfExecuting)
        ]
        sweeper = asyncio.create_task(self._sweep_forever(stop), name="worker-sweeps")
        try:
            await self._claim_forever(stop)
        finally:
            await self._drain()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await asyncio.gather(*executors, return_exceptions=True)

    async def _claim_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            free = self._concurrency - len(self._steps)
            claims = await self._claim(free) if free > 0 else []
            for claim in claims:
                await self._slots.acquire()
                task = asyncio.create_task(self._step(claim), name=f"step-{claim.batch_id}")
                self._steps.add(task)
                task.add_done_callback(self._steps.discard)
            if not claims:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_SECONDS)

    async def _claim(self, limit: int) -> list[Claim]:
        try:
            return await self.ctx.services.schedule.claim(now_ms(), self.ctx.lease_ms, limit)
        except (ConnectionError, OSError) as exc:
            log.warning("claim_failed", error=str(exc))
            await asyncio.sleep(1.0)
            return []

    async def _step(self, claim: Claim) -> None:
        renewer = asyncio.create_task(self._renew(claim))
        try:
            await advance_safely(self.ctx, claim)
        finally:
            renewer.cancel()
            self._slots.release()

    async def _renew(self, claim: Claim) -> None:
        lease = self.ctx.lease_ms
        while True:
            await asyncio.sleep(lease / 3000)
            if not await self.ctx.services.schedule.renew(claim, now_ms=now_ms(), lease_ms=lease):
                log.warning("claim_lost", batch_id=claim.batch_id)
                return

    async def _drain(self) -> None:
        if not self._steps:
            return
        _, pending = await asyncio.wait(self._steps, timeout=self._grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _sweep_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception:
                log.exception("sweep_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)

    async def sweep_once(self) -> None:
        """Wake batches whose window ended, re-schedule any batch that lost its schedule entry, expire files."""
        services = self.ctx.services
        now = int(time.time())
        for batch_id in await services.batches.expired_candidates(now, _SWEEP_LIMIT):
            await services.schedule.add(batch_id, now * 1000)
        for status in NON_TERMINAL:
            stale = await services.batches.in_status(
                status, entered_before=now - RESYNC_AFTER_SECONDS, limit=_SWEEP_LIMIT
            )
            for batch_id in stale:
                if await services.schedule.due_at(batch_id) is None:
                    await services.schedule.add(batch_id, now * 1000)
        await self._expire_files(now)
        if time.monotonic() - self._partials_swept_at > PARTIALS_SWEEP_SECONDS:
            self._partials_swept_at = time.monotonic()
            await services.storage.sweep_partials()

    async def _expire_files(self, now: int) -> None:
        services = self.ctx.services
        for file_id in await services.files.expired(now, _SWEEP_LIMIT):
            record = await services.files.get(file_id, tenant=None)
            if record is not None and await services.files.delete(record):
                await services.storage.delete(record.storage_key)
