"""The simulator's wire objects: OpenAI's FileObject and Batch, every key present."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["BatchObject", "Counts", "FileObject", "InputLine", "Usage", "fake_usage"]


class FileObject(msgspec.Struct, kw_only=True):
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    object: str = "file"
    status: str = "processed"
    expires_at: int | None = None
    status_details: str | None = None


class Counts(msgspec.Struct, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0


class Usage(msgspec.Struct, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, int] = msgspec.field(default_factory=lambda: {"cached_tokens": 0})
    output_tokens_details: dict[str, int] = msgspec.field(default_factory=lambda: {"reasoning_tokens": 0})


class BatchObject(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    created_at: int
    expires_at: int
    status: str = "validating"
    object: str = "batch"
    model: str | None = None
    errors: dict[str, Any] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: Counts = msgspec.field(default_factory=Counts)
    usage: Usage | None = None
    metadata: dict[str, str] | None = None


class InputLine(msgspec.Struct):
    custom_id: str
    body: msgspec.Raw


def fake_usage(custom_id: str, body: bytes) -> tuple[int, int, int]:
    """(prompt, cached, completion) tokens derived from the request, so tests can compute expected sums."""
    prompt = len(body) // 8 + 1
    completion = 1 + sum(custom_id.encode()) % 50
    return prompt, prompt // 3, completion
