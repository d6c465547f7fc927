"""The batch record persisted in Redis, and its hash encoding.

A record lives in one Redis hash with one field per record field, each value msgspec-JSON encoded, except
`status`, which is stored plain so the Lua scripts can compare-and-set it. Decoding joins the fields back
into one JSON object: unknown fields (written by a newer replica) are ignored and missing ones (written by
an older replica) take their defaults, so old and new replicas coexist during a rolling deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import msgspec

from accounting.served import ServedTokens
from gateway.batches.legs import Leg
from gateway.batches.status import BatchStatus
from gateway.batches.wire import BatchUsage, RequestCounts
from providers.base import BatchError

__all__ = ["IMMUTABLE_FIELDS", "BatchRecord", "decode_hash", "encode_hash", "encode_updates"]


class BatchRecord(msgspec.Struct, frozen=True, kw_only=True):
    # Identity: set at create, never changed.
    id: str
    tenant: str
    endpoint: str
    input_file_id: str
    created_at: int
    # OpenAI's Batch fields.
    completion_window: str = "24h"
    status: BatchStatus = BatchStatus.VALIDATING
    model: str | None = None
    errors: tuple[BatchError, ...] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts = msgspec.field(default_factory=RequestCounts)
    usage: BatchUsage | None = None
    metadata: dict[str, str] | None = None
    # Ours.
    provider: str | None = None  # provider name from the config; null until routed
    upstream_model: str | None = None
    provider_state: bytes = b""  # the provider's opaque state (providers.base), base64 in JSON
    input_bytes: int = 0
    output_expires_after_seconds: int | None = None
    cancel_requested: bool = False
    attempts: int = 0  # failed provider calls in a row, for backoff
    last_error: str | None = None  # the last retryable provider error, for operators
    polls: int = 0  # provider polls so far: polling starts fast and slows down to the provider's interval
    cancel_forwarded: bool = False  # the provider was told to stop (user cancel or expiry)
    expire_requested: bool = False  # the completion window ended while the provider was running
    # Result file ids chosen once, before assembly, so an assembly repeated after a crash reuses them.
    planned_output_file_id: str | None = None
    planned_error_file_id: str | None = None
    estimated_max_cost_usd: str | None = None  # budget estimate (decimal string) reserved while the batch runs
    # Routes (gateway/worker/legs.py): the model's route the batch runs on now, the legs it finished on earlier
    # routes, and what the current leg was handed (None: the batch's own input, all of its requests).
    route_index: int = 0
    legs: tuple[Leg, ...] = ()
    leg_input_key: str | None = None
    leg_requests: int = 0
    failing_since: int | None = None  # unix s of the first failure of the step now being retried (worker/failures.py)
    estimated_tokens: int = 0  # input estimate + output budget of every line, from validation (the deferral plan)
    # unix s: the current leg waits for an off-peak price window until then (worker/defer.py); earlier legs' in `legs`
    deferred_until: int | None = None
    # The current leg's tokens per price multiplier when served, set with `usage` (earlier legs' in `legs`)
    served: ServedTokens | None = None
    # Written only by the store's scripts (see `lua.py`): the claim token of the step that last adopted the
    # batch, and its sealed terminal outcome (settled before the status turns terminal).
    fence_token: int = 0
    closing_status: BatchStatus | None = None
    closing_at: int | None = None


# Identity and status are never written through `updates`: status moves only through a transition, and the
# fence and seal only through their scripts.
IMMUTABLE_FIELDS = frozenset(
    {"id", "tenant", "endpoint", "input_file_id", "created_at", "status", "fence_token", "closing_status", "closing_at"}
)

_RECORD_DECODER = msgspec.json.Decoder(BatchRecord)
_RAW_FIELDS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])


def encode_hash(record: BatchRecord) -> dict[str, bytes]:
    """The record as hash fields: each value its own JSON document, `status` plain."""
    fields = {name: bytes(raw) for name, raw in _RAW_FIELDS_DECODER.decode(msgspec.json.encode(record)).items()}
    fields["status"] = record.status.value.encode()
    return fields


def decode_hash(fields: Mapping[bytes, bytes]) -> BatchRecord:
    """The inverse of `encode_hash`, from HGETALL's reply."""
    parts = []
    for name, value in fields.items():
        encoded = msgspec.json.encode(value.decode()) if name == b"status" else value
        parts.append(b'"' + name + b'":' + encoded)
    return _RECORD_DECODER.decode(b"{" + b",".join(parts) + b"}")


@cache
def _field_decoder(name: str) -> msgspec.json.Decoder[Any]:
    for field in msgspec.structs.fields(BatchRecord):
        if field.name == name:
            return msgspec.json.Decoder(field.type)
    raise ValueError(f"BatchRecord has no field {name!r}")


def encode_updates(updates: Mapping[str, object]) -> dict[str, bytes]:
    """Encode `updates` (field name → Python value) for the hash, checking each against its field's type."""
    encoded: dict[str, bytes] = {}
    for name, value in updates.items():
        if name in IMMUTABLE_FIELDS:
            raise ValueError(f"field {name!r} cannot be updated")
        data = msgspec.json.encode(value)
        try:
            _field_decoder(name).decode(data)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid value for {name!r}: {exc}") from None
        encoded[name] = data
    return encoded
