"""The Batch object on the wire (OpenAI's `Batch`, every key present, `null` where unset) and its list page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import msgspec

from accounting.usage import BatchUsage, InputTokensDetails, OutputTokensDetails
from gateway.batches.status import BatchStatus
from providers.base import BatchError

if TYPE_CHECKING:
    from gateway.batches.records import BatchRecord

__all__ = [
    "BatchError",
    "BatchErrors",
    "BatchList",
    "BatchObject",
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
    "RequestCounts",
    "to_list",
    "to_wire",
]


class RequestCounts(msgspec.Struct, frozen=True, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchErrors(msgspec.Struct, frozen=True, kw_only=True):
    object: Literal["list"] = "list"
    data: tuple[BatchError, ...] = ()


class BatchObject(msgspec.Struct, frozen=True, kw_only=True):
    """OpenAI's Batch, keys in the spec's order; every key is always encoded (no `omit_defaults`)."""

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    model: str | None
    errors: BatchErrors | None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    in_progress_at: int | None
    expires_at: int | None
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None
    cancelling_at: int | None
    cancelled_at: int | None
    request_counts: RequestCounts
    usage: BatchUsage | None
    metadata: dict[str, str] | None


class BatchList(msgspec.Struct, frozen=True, kw_only=True):
    """A list page; `first_id`/`last_id` are null on an empty page (spec §2.4)."""

    object: Literal["list"] = "list"
    data: tuple[BatchObject, ...]
    first_id: str | None
    last_id: str | None
    has_more: bool


def to_wire(record: BatchRecord) -> BatchObject:
    """The client's view of a record: our own fields (tenant, provider, state...) never leave the gateway."""
    return BatchObject(
        id=record.id,
        endpoint=record.endpoint,
        model=record.model,
        errors=None if record.errors is None else BatchErrors(data=tuple(record.errors)),
        input_file_id=record.input_file_id,
        completion_window=record.completion_window,
        status=record.status,
        output_file_id=record.output_file_id,
        error_file_id=record.error_file_id,
        created_at=record.created_at,
        in_progress_at=record.in_progress_at,
        expires_at=record.expires_at,
        finalizing_at=record.finalizing_at,
        completed_at=record.completed_at,
        failed_at=record.failed_at,
        expired_at=record.expired_at,
        cancelling_at=record.cancelling_at,
        cancelled_at=record.cancelled_at,
        request_counts=record.request_counts,
        usage=record.usage,
        metadata=record.metadata,
    )


def to_list(records: Sequence[BatchRecord], has_more: bool) -> BatchList:
    data = tuple(to_wire(record) for record in records)
    return BatchList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )
