"""The list of a batch's `custom_id`s, kept beside the batch while it runs.

Written once during validation (one id per line), read when results are assembled to give every
request that never ran its error line — even if the user deleted the input file meanwhile.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import msgspec

from gateway.storage import iter_file
from providers.base import BlobStore

__all__ = ["CustomIdRecorder", "custom_ids_key", "read_custom_ids"]


class _CustomIdOnly(msgspec.Struct):
    custom_id: str | None = None


_decode = msgspec.json.Decoder(_CustomIdOnly).decode


def custom_ids_key(batch_id: str) -> str:
    return f"batches/{batch_id}/custom_ids"


class CustomIdRecorder:
    """Fed the same chunks as the validator; spools the ids of lines that carry a string custom_id."""

    def __init__(self, spool_dir: Path) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool: IO[bytes] = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed in `store`
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._record(line)

    def _record(self, line: bytes) -> None:
        try:
            custom_id = _decode(line).custom_id
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # the validator reports the line; a valid file has none of these
        if custom_id is not None:
            self._spool.write(msgspec.json.encode(custom_id) + b"\n")

    async def store(self, storage: BlobStore, key: str) -> None:
        try:
            if self._partial.strip():
                self._record(self._partial)
            self._spool.seek(0)
            await storage.write(key, iter_file(self._spool))
        finally:
            self._spool.close()

    def discard(self) -> None:
        self._spool.close()


async def read_custom_ids(storage: BlobStore, key: str) -> AsyncIterator[str]:
    partial = b""
    async for chunk in storage.open_read(key):
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for line in lines:
            if line:
                yield msgspec.json.decode(line, type=str)
