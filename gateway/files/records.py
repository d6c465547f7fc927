"""A file's record in Redis and its OpenAI wire shape (FileObject, spec §2.2)."""

from __future__ import annotations

from typing import Literal

import msgspec

from gateway.core.page import Page

__all__ = ["UPLOAD_PURPOSES", "DeletedFile", "FileList", "FileObject", "FilePurpose", "FileRecord"]

FilePurpose = Literal[
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
]
# What clients may upload (batch_output and the other *_output purposes are ours to create).
UPLOAD_PURPOSES: frozenset[str] = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})


class FileRecord(msgspec.Struct, kw_only=True):
    """Persisted; tolerant of unknown fields and defaulted new fields, so replicas of two versions coexist."""

    id: str
    tenant: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    storage_key: str
    expires_at: int | None = None

    def to_wire(self) -> FileObject:
        return FileObject(
            id=self.id,
            bytes=self.bytes,
            created_at=self.created_at,
            expires_at=self.expires_at,
            filename=self.filename,
            purpose=self.purpose,
        )


class FileObject(msgspec.Struct, omit_defaults=False, kw_only=True):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None


class FileList(Page[FileObject], frozen=True, kw_only=True):
    data: list[FileObject]  # named again for the OpenAPI schema (Litestar leaves T of a subclass unresolved)


class DeletedFile(msgspec.Struct, omit_defaults=False, kw_only=True):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True
