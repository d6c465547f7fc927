"""The Batch object on the wire (OpenAI's `Batch`, every key present, `null` where unset) and its list page.

A record becomes this shape in `gateway.batches.view`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from accounting.usage import BatchUsage, InputTokensDetails, OutputTokensDetails
from gateway.batches.status import BatchStatus
from gateway.core.page import Page
from providers.base import BatchError

__all__ = [
    "BatchError",
    "BatchErrors",
    "BatchList",
    "BatchObject",
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
    "RequestCounts",
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


class BatchList(Page[BatchObject], frozen=True, kw_only=True):
    """A page of batches (spec §2.4)."""

    data: list[BatchObject]  # named again for the OpenAPI schema (Litestar leaves T of a subclass unresolved)
