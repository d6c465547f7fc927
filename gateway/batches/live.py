"""A running batch's request counts as fresh as its provider can tell them cheaply (see providers/progress.py).

The worker mirrors counts into the record when it polls, which may be seconds apart; a GET reads them live
instead. Counts never go backwards: a live read behind the record (a race with the mirror) is ignored.
"""

from __future__ import annotations

import msgspec

from gateway.batches.records import BatchRecord
from gateway.batches.status import BatchStatus
from gateway.batches.wire import RequestCounts
from gateway.config.settings import Settings
from gateway.core.redis_types import RedisClient
from providers.progress import live_progress

__all__ = ["with_live_counts"]

_RUNNING = frozenset({BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.CANCELLING})


async def with_live_counts(record: BatchRecord, settings: Settings, redis: RedisClient) -> BatchRecord:
    provider = settings.providers.get(record.provider or "")
    if record.status not in _RUNNING or provider is None or not record.provider_state:
        return record
    progress = await live_progress(provider.kind, redis, record.id)
    mirrored = record.request_counts
    if progress is None or progress.completed + progress.failed < mirrored.completed + mirrored.failed:
        return record
    counts = RequestCounts(total=progress.total, completed=progress.completed, failed=progress.failed)
    return msgspec.structs.replace(record, request_counts=counts)
