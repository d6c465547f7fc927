"""Knobs of the native executor that are not operator config: sensible defaults, overridable in tests."""

from __future__ import annotations

import msgspec

__all__ = ["NativeTuning"]


class NativeTuning(msgspec.Struct, frozen=True, kw_only=True):
    chunk_lines: int = 200  # lines per chunk object / stream entry
    chunks_on_stream: int = 4  # per batch; the rest wait in its backlog, so batches take turns (lua.ENQUEUE)
    claim_idle_seconds: float = 60.0  # a chunk pending this long without a heartbeat belongs to a dead worker
    read_block_seconds: float = 0.5  # XREADGROUP block; bounds how fast `stop` is noticed
    chunk_read_attempts: int = (
        5  # a chunk file unreadable this many times (full jitter, ceilings from 0.5 s doubling) is lost
    )
    chunk_read_backoff_seconds: float = 0.5
    poll_seconds: float = 0.5  # a running batch asks the gateway to poll its counters this often
    cancel_grace_seconds: float = 30.0  # in-flight requests of a cancelled batch are abandoned after this
    shutdown_grace_seconds: float = 10.0  # `run` lets in-flight lines finish this long after `stop`
    flush_max_ops: int = 200  # Redis bookkeeping ops per pipeline round trip
    rate_safety: float = 1.01  # spacing slightly above 60/RPM absorbs scheduling jitter at the upstream
