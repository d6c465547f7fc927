"""File contents on a local directory (the default storage), streamed in and out.

Implements `providers.base.BlobStore`. Writes go to a temporary file renamed into place, so a reader
never sees half an object and a failed upload leaves nothing behind. An S3-compatible backend can
implement the same interface.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import IO, BinaryIO

__all__ = ["CHUNK_SIZE", "LocalStorage", "ObjectMissing", "StorageError", "iter_file"]

CHUNK_SIZE = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class StorageError(Exception):
    """The storage could not complete an operation (disk full, permissions, a missing object)."""


class ObjectMissing(StorageError):
    """The object does not exist: unlike the other storage errors, trying again will not help."""


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are ours (ids and fixed prefixes); refuse anything that could leave the root.
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def open_read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise ObjectMissing(f"object {key!r} does not exist") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            handle.close()

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        # The writer's host and pid are in the name, so a sweep can tell a dead writer's leftovers.
        temporary = path.with_name(f".{path.name}.{_WRITER}.{uuid.uuid4().hex}.part")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(temporary.open, "wb")
        written = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
            await asyncio.to_thread(_flush_and_close, handle)
            await asyncio.to_thread(os.replace, temporary, path)
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        return written

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).exists)

    async def sweep_partials(self, max_age_seconds: float = 6 * 3600) -> int:
        """Delete temporary files of writes that can never finish: their writer (on this host) is dead, or
        they are older than any upload can take. Returns how many were removed."""
        return await asyncio.to_thread(_sweep_partials, self.root, max_age_seconds)

    async def check_writable(self) -> bool:
        """For readiness: can we create and remove a file under the root right now?"""
        probe = self.root / f".ready-{uuid.uuid4().hex}"
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(probe.write_bytes, b"")
            await asyncio.to_thread(probe.unlink)
        except OSError:
            return False
        return True


_HOST = socket.gethostname().replace(".", "_")
_WRITER = f"{_HOST}-{os.getpid()}"


def _writer_is_dead(name: str) -> bool:
    """`.<object>.<host>-<pid>.<uuid>.part`: dead when written on this host by a pid that no longer runs."""
    parts = name.rsplit(".", 3)
    host, _, pid = parts[-3].rpartition("-") if len(parts) == 4 else ("", "", "")
    if host != _HOST or not pid.isdigit():
        return False
    return not Path(f"/proc/{pid}").exists()


def _sweep_partials(root: Path, max_age_seconds: float) -> int:
    removed = 0
    cutoff = time.time() - max_age_seconds
    for path in root.rglob(".*.part"):
        try:
            if _writer_is_dead(path.name) or path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # its writer finished or removed it meanwhile
    return removed


def _flush_and_close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


async def iter_file(handle: IO[bytes]) -> AsyncIterator[bytes]:
    """Chunks of an open local (spool) file from its current position, for `write`."""
    while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
        yield chunk
