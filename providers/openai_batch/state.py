"""The adapter's opaque per-batch state (JSON bytes on the gateway's batch record).

Old and new replicas read each other's state during a rolling deploy: unknown fields are ignored and every
field added later has a default.
"""

from __future__ import annotations

import msgspec

__all__ = ["SHARD_TERMINAL", "Shard", "State", "decode_state", "encode_state"]

SHARD_TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class Shard(msgspec.Struct, kw_only=True):
    """One upstream batch: input lines [first_line, first_line + requests) of the gateway's file (0-based)."""

    index: int
    first_line: int
    requests: int
    bytes: int
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "validating"
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[tuple[str, str, str | None, int | None]] = msgspec.field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in SHARD_TERMINAL


class State(msgspec.Struct, kw_only=True):
    shards: list[Shard]
    cancel_requested: bool = False


_decoder = msgspec.json.Decoder(State)


def encode_state(state: State) -> bytes:
    return msgspec.json.encode(state)


def decode_state(data: bytes) -> State:
    return _decoder.decode(data)
