"""Helpers shared by the batch store tests: fresh records and legal paths through the table."""

from __future__ import annotations

from collections import deque

from gateway.batches import TRANSITIONS, BatchRecord, BatchStatus
from gateway.core.ids import new_batch_id


def new_record(tenant: str = "acme", *, created_at: int = 1_000, expires_at: int | None = 90_000) -> BatchRecord:
    return BatchRecord(
        id=new_batch_id(),
        tenant=tenant,
        endpoint="/v1/chat/completions",
        input_file_id="file-in",
        created_at=created_at,
        expires_at=expires_at,
    )


def path_to(target: BatchStatus) -> list[BatchStatus]:
    """The shortest legal path of statuses from validating to `target` (excluding validating)."""
    parents: dict[BatchStatus, BatchStatus] = {}
    queue = deque([BatchStatus.VALIDATING])
    while queue:
        current = queue.popleft()
        for nxt in sorted(TRANSITIONS[current]):
            if nxt not in parents and nxt is not BatchStatus.VALIDATING:
                parents[nxt] = current
                queue.append(nxt)
    path: list[BatchStatus] = []
    while target is not BatchStatus.VALIDATING:
        path.append(target)
        target = parents[target]
    return path[::-1]
