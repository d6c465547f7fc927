"""The worker loop: claim due batches from the shared schedule, advance each one step, run sweeps.

Any number of workers share the schedule. A claim is a lease renewed while a step runs; a worker that
dies simply stops renewing, and the batch becomes due again for the others. Stopping (SIGTERM) stops
claiming at once, lets running steps finish within a grace period, then cancels them — their batches
come back after the lease.

The loop outlives Redis outages of any length: claims, renewals and sweeps back off and try again, with one
`redis_unavailable` and one `redis_recovered` line. It ticks `WorkerHealth` every round. What it cannot
get over — a bug in the loop itself, or a provider's executor dying — raises `WorkerDied` out of `run`,
so the process exits non-zero and its supervisor restarts it: never a live process that does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis.exceptions import RedisError

from gateway.batches import NON_TERMINAL, Claim
from gateway.ops.liveness import RedisOutage
from gateway.worker.context import WorkerContext, log, now_ms
from gateway.worker.runner import advance_safely
from providers.base import SelfExecuting
from providers.retry import full_jitter

__all__ = ["Worker", "WorkerDied"]

SWEEP_SECONDS = 5.0
PARTIALS_SWEEP_SECONDS = 600.0  # walks the whole storage tree, so less often than the other sweeps
IDLE_SECONDS = 0.2
RESYNC_AFTER_SECONDS = 60
CLAIM_TIMEOUT_SECONDS = 10.0  # a claim that hangs (Redis paused, a partition without resets) counts as failed
OUTAGE_BACKOFF_CAP_SECONDS = 2.0
_SWEEP_LIMIT = 500
_REDIS_DOWN = (RedisError, OSError, TimeoutError)


class WorkerDied(RuntimeError):
    """The worker loop cannot go on; the process must exit non-zero."""


class Worker:
    def __init__(self, ctx: WorkerContext, *, concurrency: int = 16, grace_seconds: float = 10.0) -> None:
        self.ctx = ctx
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._grace = grace_seconds
        self._steps: set[asyncio.Task[None]] = set()
        self._partials_swept_at = 0.0
        self._outage = RedisOutage("worker")
        self._outage_rounds = 0

    async def run(self, stop: asyncio.Event) -> None:
        health = self.ctx.services.worker_health
        health.running = True
        health.tick()
        executors = [
            asyncio.create_task(self._execute(provider, stop), name=f"provider-run-{provider.name}")
            for provider in self.ctx.providers.all()
            if isinstance(provider, SelfExecuting)
        ]
        sweeper = asyncio.create_task(self._sweep_forever(stop), name="worker-sweeps")
        try:
            await self._claim_forever(stop, [*executors, sweeper])
        finally:
            health.running = False
            await self._drain()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if not stop.is_set():  # the loop died: the executors would wait for a stop that never comes
                for executor in executors:
                    executor.cancel()
            await asyncio.gather(*executors, return_exceptions=True)

    async def _execute(self, provider: SelfExecuting, stop: asyncio.Event) -> None:
        """Run a self-executing provider; Redis going away under it (at start, say) restarts it, with
        backoff. Anything else it raises ends the worker (`_check_alive`)."""
        rounds = 0
        while True:
            try:
                await provider.run(stop)
                return
            except _REDIS_DOWN as exc:
                if stop.is_set():
                    return
                self._outage.failed(exc)
                rounds += 1
                await asyncio.sleep(full_jitter(rounds + 1, base=0.2, cap=OUTAGE_BACKOFF_CAP_SECONDS))

    async def _claim_forever(self, stop: asyncio.Event, helpers: list[asyncio.Task[None]]) -> None:
        while not stop.is_set():
            self.ctx.services.worker_health.tick()
            _check_alive(helpers, stop)
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
            claims = await asyncio.wait_for(
                self.ctx.services.schedule.claim(now_ms(), self.ctx.lease_ms, limit), CLAIM_TIMEOUT_SECONDS
            )
        except _REDIS_DOWN as exc:
            self._outage.failed(exc)
            self._outage_rounds += 1
            await asyncio.sleep(full_jitter(self._outage_rounds + 1, base=0.2, cap=OUTAGE_BACKOFF_CAP_SECONDS))
            return []
        self._outage.ok()
        self._outage_rounds = 0
        return claims

    async def _step(self, claim: Claim) -> None:
        renewer = asyncio.create_task(self._renew(claim))
        try:
            await advance_safely(self.ctx, claim)
        except _REDIS_DOWN as exc:  # the record could not even be read: the batch comes back after its lease
            self._outage.failed(exc)
        except Exception:  # advance_safely handles every step failure; this is a bug in it
            log.exception("worker_step_crashed", batch_id=claim.batch_id)
        finally:
            renewer.cancel()
            self._slots.release()

    async def _renew(self, claim: Claim) -> None:
        """Renew every third of the lease; a failed renewal is tried again (the lease has two more thirds)."""
        lease = self.ctx.lease_ms
        while True:
            await asyncio.sleep(lease / 3000)
            try:
                renewed = await self.ctx.services.schedule.renew(claim, now_ms=now_ms(), lease_ms=lease)
            except _REDIS_DOWN as exc:
                self._outage.failed(exc)
                continue
            if not renewed:
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
            except _REDIS_DOWN as exc:  # logged once per outage, by the claim loop's tracker
                self._outage.failed(exc)
            except Exception:
                log.exception("sweep_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)

    async def sweep_once(self) -> None:
        """Wake batches whose window ended, re-schedule any batch that lost its schedule entry, expire files."""
        services = self.ctx.services
        now = int(time.time())
        for batch_id in await services.batches.expired_candidates(int(self.ctx.clock()), _SWEEP_LIMIT):
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


def _check_alive(helpers: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """A provider's executor or the sweeper that ended before `stop` leaves this worker half dead."""
    for task in helpers:
        if task.done() and not stop.is_set():
            error = None if task.cancelled() else task.exception()
            reason = f"{type(error).__name__}: {error}" if error is not None else "it returned"
            raise WorkerDied(f"worker task {task.get_name()} ended: {reason}"[:500])
