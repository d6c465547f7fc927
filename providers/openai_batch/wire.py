"""View Structs over the upstream's Files and Batches responses: only the fields the adapter uses."""

from __future__ import annotations

import msgspec

__all__ = [
    "BatchPage",
    "BatchView",
    "CountsView",
    "ErrorView",
    "FilePage",
    "FileView",
    "batch_decoder",
    "batch_page_decoder",
    "file_decoder",
    "file_page_decoder",
]


class FileView(msgspec.Struct, kw_only=True):
    id: str
    filename: str = ""
    bytes: int = 0
    purpose: str = ""


class CountsView(msgspec.Struct, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0


class ErrorView(msgspec.Struct, kw_only=True):
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


class ErrorsView(msgspec.Struct, kw_only=True):
    data: list[ErrorView] = msgspec.field(default_factory=list)


class BatchView(msgspec.Struct, kw_only=True):
    id: str
    status: str
    input_file_id: str | None = None
    created_at: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: CountsView | None = None
    errors: ErrorsView | None = None
    metadata: dict[str, str] | None = None


class FilePage(msgspec.Struct, kw_only=True):
    data: list[FileView]
    has_more: bool | None = None


class BatchPage(msgspec.Struct, kw_only=True):
    data: list[BatchView]
    has_more: bool | None = None


file_decoder = msgspec.json.Decoder(FileView)
batch_decoder = msgspec.json.Decoder(BatchView)
file_page_decoder = msgspec.json.Decoder(FilePage)
batch_page_decoder = msgspec.json.Decoder(BatchPage)
