"""A batch's transition log, read from its Redis stream."""

from __future__ import annotations

import msgspec

from gateway.batches.status import BatchStatus

__all__ = ["BatchEvent", "decode_events"]


class BatchEvent(msgspec.Struct, frozen=True, kw_only=True):
    stream_id: str  # the Redis stream entry id, which orders events
    time: int  # unix seconds, as passed by the caller of the transition
    from_status: BatchStatus | None  # None for the creation event
    to: BatchStatus
    cause: str


def decode_events(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[BatchEvent]:
    return [_decode(entry_id, fields) for entry_id, fields in entries]


def _decode(entry_id: bytes, fields: dict[bytes, bytes]) -> BatchEvent:
    source = fields.get(b"from", b"").decode()
    return BatchEvent(
        stream_id=entry_id.decode(),
        time=int(fields[b"time"]),
        from_status=BatchStatus(source) if source else None,
        to=BatchStatus(fields[b"to"].decode()),
        cause=fields.get(b"cause", b"").decode(),
    )
