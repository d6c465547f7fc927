"""A directory-backed BlobStore for tests: real files, atomic writes (temp file + rename)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

__all__ = ["DirBlobStore"]

_READ_SIZE = 64 * 1024


class DirBlobStore:
    """Keys are relative paths under `root` (slashes make subdirectories)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    async def open_read(self, key: str) -> AsyncIterator[bytes]:
        with self._path(key).open("rb") as handle:
            while chunk := handle.read(_READ_SIZE):
                yield chunk

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        size = 0
        with tmp.open("wb") as handle:
            async for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        tmp.replace(path)
        return size

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
