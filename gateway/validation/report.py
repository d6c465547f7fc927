"""The validation report, and the bounded error log that fills it."""

from __future__ import annotations

import msgspec

from gateway.validation.errors import ErrorCode, LineError

__all__ = ["ErrorLog", "ValidationReport"]


class ValidationReport(msgspec.Struct):
    """What one validation run found.

    `errors` keeps the first `max_errors` problems (whole-file ones first, then by line);
    `error_count` counts them all. Estimates for budgets:
    `estimated_input_tokens` = token ids given as token arrays + ceil(text bytes / 4), where text bytes
    are, for chat, each request line's own bytes (its whole JSON, without the newline: never less than
    its message texts, and read without walking the messages), and for completions and embeddings the
    UTF-8 bytes of prompts and inputs given as text; `max_output_tokens` sums over lines
    `max_completion_tokens` (else `max_tokens`, else a per-endpoint default) times `n` (completions:
    times max(n, best_of)); embeddings add 0.
    """

    valid: bool
    requests: int
    model: str | None
    errors: list[LineError]
    error_count: int
    embedding_inputs: int = 0
    estimated_input_tokens: int = 0
    max_output_tokens: int = 0


class ErrorLog:
    """Keeps the first `cap` line errors and counts all; whole-file errors are kept apart, always listed."""

    __slots__ = ("cap", "count", "file_errors", "line_errors")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0
        self.line_errors: list[LineError] = []
        self.file_errors: list[LineError] = []

    def add(self, code: ErrorCode, message: str, param: str | None, line: int) -> None:
        self.count += 1
        if len(self.line_errors) < self.cap:
            self.line_errors.append(LineError(code.value, message, param, line))

    def add_file(self, code: ErrorCode, message: str) -> None:
        self.count += 1
        self.file_errors.append(LineError(code.value, message, None, None))

    def listed(self) -> list[LineError]:
        return (self.file_errors + self.line_errors)[: self.cap]
