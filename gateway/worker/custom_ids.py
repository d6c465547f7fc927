"""The list of a batch's `custom_id`s, kept beside the batch while it runs.

Written once during validation (one id per line, from the validator's own list: no second pass over the
input), read when results are assembled to give every request that never ran its error line — even if
the user deleted the input file meanwhile. A batch that ends before validation reads its ids from the
input with `CustomIdRecorder`.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

import msgspec

from gateway.core.lines import split_lines
from gateway.storage.local import iter_file
from providers.base import BlobStore

__all__ = ["CustomIdRecorder", "custom_ids_key", "read_custom_ids", "store_custom_ids"]


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


async def store_custom_ids(storage: BlobStore, key: str, custom_ids: Iterable[str]) -> None:
    await storage.write(key, _as_chunks(custom_ids))


async def _as_chunks(custom_ids: Iterable[str]) -> AsyncIterator[bytes]:
    for chunk in _encoded(custom_ids):
        yield chunk


def _encoded(custom_ids: Iterable[str], per_chunk: int = 8192) -> Iterator[bytes]:
    """One JSON string per line, in chunks of at most `per_chunk` ids (64 characters each at most)."""
    remaining = iter(custom_ids)
    while batch := list(islice(remaining, per_chunk)):
        yield b"".join([msgspec.json.encode(custom_id) + b"\n" for custom_id in batch])


async def read_custom_ids(storage: BlobStore, key: str) -> AsyncIterator[str]:
    async for line in split_lines(storage.open_read(key)):
        yield msgspec.json.decode(line, type=str)
