"""A tiny directory-backed BlobStore for provider tests (the gateway has its own real one)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

__all__ = ["DirBlobs"]

_CHUNK = 1 << 16


class DirBlobs:
    """Keys are file names under `root`; writes go to a temp file renamed into place (all or nothing)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key.replace("/", "__")

    async def open_read(self, key: str) -> AsyncIterator[bytes]:
        with self._path(key).open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                yield chunk

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        temp = path.with_suffix(".tmp")
        size = 0
        with temp.open("wb") as handle:
            async for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        os.replace(temp, path)
        return size

    def put(self, key: str, data: bytes) -> None:
        self._path(key).write_bytes(data)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
