"""Running a worker inside a process: build its providers and context, run until `stop`, clean up."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

from gateway.core.clock import Clock
from gateway.services import Services
from gateway.webhooks import Deliverer
from gateway.worker.context import WorkerContext
from gateway.worker.loop import Worker
from gateway.worker.providers import ProviderSet, build_providers

__all__ = ["new_worker_id", "run_worker"]


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def run_worker(
    services: Services, stop: asyncio.Event, *, providers: ProviderSet | None = None, clock: Clock | None = None
) -> None:
    """Run the worker loop until `stop` is set; providers are built from settings unless given. `clock` is the
    business time (default: the services')."""
    settings = services.settings
    clock = clock or services.clock
    owned = providers is None
    provider_set = providers or build_providers(
        settings,
        services.redis,
        services.storage,
        worker_id=new_worker_id(),
        observe=services.metrics.observe_upstream,
        clock=clock,
    )
    ctx = WorkerContext(
        services=services,
        providers=provider_set,
        ledger=services.ledger,
        metrics=services.metrics,
        lease_ms=int(settings.batches.lease_seconds * 1000),
        clock=clock,
    )
    try:
        deliverer = Deliverer(services.redis, settings.webhooks, services.registry)
        await asyncio.gather(Worker(ctx).run(stop), deliverer.run(stop))
    finally:
        if owned:
            await provider_set.aclose()
