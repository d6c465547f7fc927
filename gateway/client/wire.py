"""Views of the public OpenAI wire shapes this client reads: only the fields it uses, all defaulted.

Lenient on purpose: OpenAI, DeepSeek, DeepInfra and batchgate differ in which optional keys they send,
and a client must not break because one of them omits a field it never needed.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = [
    "TERMINAL_STATUSES",
    "BatchErrorView",
    "BatchPage",
    "BatchView",
    "CostView",
    "DeletedView",
    "FilePage",
    "FileView",
    "RequestCountsView",
    "error_message",
]

TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


class RequestCountsView(msgspec.Struct, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.completed + self.failed


class BatchErrorView(msgspec.Struct, kw_only=True):
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None

    def describe(self) -> str:
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}: {self.code or 'error'}: {self.message or ''}"


class _BatchErrors(msgspec.Struct, kw_only=True):
    data: list[BatchErrorView] | None = None


class BatchView(msgspec.Struct, kw_only=True):
    id: str
    status: str
    endpoint: str = ""
    model: str | None = None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int | None = None
    errors: _BatchErrors | None = None
    request_counts: RequestCountsView | None = None
    metadata: dict[str, str] | None = None

    @property
    def counts(self) -> RequestCountsView:
        return self.request_counts or RequestCountsView()

    @property
    def error_list(self) -> list[BatchErrorView]:
        return list(self.errors.data or []) if self.errors is not None else []

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class BatchPage(msgspec.Struct, kw_only=True):
    data: list[BatchView]
    has_more: bool | None = None


class FileView(msgspec.Struct, kw_only=True):
    id: str
    bytes: int | None = None
    created_at: int | None = None
    expires_at: int | None = None
    filename: str = ""
    purpose: str = ""
    status: str | None = None


class FilePage(msgspec.Struct, kw_only=True):
    data: list[FileView]
    has_more: bool | None = None


class DeletedView(msgspec.Struct, kw_only=True):
    id: str
    deleted: bool


class CostView(msgspec.Struct, kw_only=True):
    """batchgate's accounting record (`GET /v1/accounting/batches/{id}`); other servers have none.

    Until the batch settles (`settled_at` null) the costs are zero and `estimated_max_cost_usd` bounds them.
    """

    batch_cost_usd: Decimal | None = None
    list_cost_usd: Decimal | None = None
    savings_usd: Decimal | None = None
    settled_at: int | None = None
    estimated_max_cost_usd: Decimal | None = None


class _ErrorBody(msgspec.Struct):
    message: str | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | None = None


_ERROR = msgspec.json.Decoder(_ErrorEnvelope)


def error_message(body: bytes) -> str:
    """The `error.message` of OpenAI's envelope, else a short excerpt of whatever the server sent."""
    try:
        envelope = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        envelope = None
    if envelope is not None and envelope.error is not None and envelope.error.message:
        return envelope.error.message
    text = body[:200].decode("utf-8", "replace").strip()
    return text or "(no message)"
