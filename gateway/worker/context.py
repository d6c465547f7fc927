"""What every worker step needs, in one object, plus small shared helpers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from accounting.ledger import Ledger
from accounting.metrics import Metrics
from accounting.price_windows import PriceWindow
from gateway.batches import BatchRecord, Claim, leg_batch_id
from gateway.core.clock import Clock, system_clock
from gateway.files.records import FileRecord
from gateway.services import Services
from gateway.worker.providers import ProviderSet
from providers.base import BatchJob

__all__ = ["WorkerContext", "job_for", "now_ms"]

log = structlog.get_logger("batchgate.worker")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class WorkerContext:
    services: Services
    providers: ProviderSet
    ledger: Ledger
    metrics: Metrics
    lease_ms: int
    clock: Clock = system_clock  # business time (see gateway/core/clock.py); the schedule runs on real time

    @property
    def spool_dir(self) -> Path:
        return Path(self.services.settings.data_dir) / "spool"

    async def reschedule(self, claim: Claim, delay_seconds: float) -> None:
        await self.services.schedule.reschedule(claim, now_ms() + int(delay_seconds * 1000))


def job_for(
    record: BatchRecord, input_file: FileRecord | None, price_windows: tuple[PriceWindow, ...] = ()
) -> BatchJob:
    """The provider's view of a routed batch's current leg. On the first route: the batch's input (its key is
    derived, so a deleted file record is fine); on a later route: the lines handed over to it. `price_windows`
    are the current leg's route's."""
    if record.leg_input_key is not None:
        input_key, requests = record.leg_input_key, record.leg_requests
    else:
        input_key = input_file.storage_key if input_file else f"files/{record.input_file_id}"
        requests = record.request_counts.total
    return BatchJob(
        batch_id=leg_batch_id(record.id, record.route_index),
        tenant=record.tenant,
        endpoint=record.endpoint,
        model=record.model or "",
        upstream_model=record.upstream_model or record.model or "",
        input_key=input_key,
        input_bytes=record.input_bytes,
        total_requests=requests,
        expires_at=record.expires_at or 0,
        metadata=dict(record.metadata or {}),
        price_windows=price_windows,
    )
