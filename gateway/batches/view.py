"""A batch record as the client sees it: OpenAI's Batch, without our own fields, and a page of them."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.batches.records import BatchRecord
from gateway.batches.wire import BatchErrors, BatchList, BatchObject

__all__ = ["to_list", "to_wire"]


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
    return BatchList.of(map(to_wire, records), has_more)
