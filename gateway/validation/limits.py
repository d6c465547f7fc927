"""The batch limits a validation run enforces."""

from __future__ import annotations

import msgspec

__all__ = ["ValidationLimits"]


class ValidationLimits(msgspec.Struct, frozen=True):
    """Batch limits; the defaults are OpenAI's, except `max_line_bytes`, our own bound on memory."""

    max_requests: int = 50_000
    max_bytes: int = 200 * 1024 * 1024
    max_embedding_inputs: int = 50_000
    max_errors: int = 100  # errors kept in the report; `error_count` still counts all
    max_line_bytes: int = 32 * 1024 * 1024
