"""File contents in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2), streamed in and out.

Built on obstore (Rust `object_store` behind an asyncio API): `put_async` turns an async iterable into a
multipart upload with bounded concurrency and an abort on error, and it ships type stubs. The comparison
with aiobotocore is in docs/decisions.md.

Semantics kept from `LocalStorage`:
- `write` is all or nothing: S3 shows nothing under the key until the multipart upload completes, and
  a failing source aborts the upload. A process killed mid-upload can leave an invisible incomplete
  upload; buckets should carry an AbortIncompleteMultipartUpload lifecycle rule (deploy/README.md).
- Memory per write is bounded by `part_size × (max_concurrency + 1)`, never by the object size.
- A missing object raises `StorageError` when the read stream is first iterated.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from gateway.storage.local import CHUNK_SIZE, ObjectMissing, StorageError

__all__ = ["DEFAULT_PART_SIZE", "S3Storage"]

DEFAULT_PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; 8 MiB is the common default
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
# obstore reports a missing object as the builtin FileNotFoundError on get/head, its own class elsewhere.
_FAILURES = (BaseError, OSError)


class S3Storage:
    """A `Storage` over one bucket and key prefix (the prefix lives in the `S3Store`)."""

    def __init__(
        self,
        store: S3Store,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = 4,
        probe_timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.probe_timeout = probe_timeout

    async def open_read(self, key: str) -> AsyncIterator[bytes]:
        path = _check(key)
        try:
            result = await obstore.get_async(self.store, path)
            async for chunk in result.stream(min_chunk_size=CHUNK_SIZE):
                yield chunk
        except FileNotFoundError:
            raise ObjectMissing(f"object {key!r} does not exist") from None
        except _FAILURES as exc:
            raise StorageError(f"reading object {key!r} failed: {type(exc).__name__}") from exc

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = _check(key)
        counter = _Counter(chunks)
        try:
            # Always multipart: the size is unknown up front and only multipart streams without buffering.
            await obstore.put_async(
                self.store,
                path,
                counter,
                use_multipart=True,
                chunk_size=self.part_size,
                max_concurrency=self.max_concurrency,
            )
        except _FAILURES as exc:
            raise StorageError(f"writing object {key!r} failed: {type(exc).__name__}") from exc
        return counter.count

    async def delete(self, key: str) -> None:
        path = _check(key)
        try:
            await obstore.delete_async(self.store, path)  # S3 deletes are idempotent: missing is fine
        except _FAILURES as exc:
            raise StorageError(f"deleting object {key!r} failed: {type(exc).__name__}") from exc

    async def exists(self, key: str) -> bool:
        path = _check(key)
        try:
            await obstore.head_async(self.store, path)
        except FileNotFoundError:
            return False
        except _FAILURES as exc:
            raise StorageError(f"checking object {key!r} failed: {type(exc).__name__}") from exc
        return True

    async def sweep_partials(self, max_age_seconds: float = 6 * 3600) -> int:
        """Nothing to do here: an unfinished multipart upload is invisible, and the bucket's
        `AbortIncompleteMultipartUpload` lifecycle rule removes it (see deploy/README.md)."""
        return 0

    async def check_writable(self) -> bool:
        """For readiness: can we put and delete a small object right now (within `probe_timeout`)?"""
        probe = f".ready-{uuid.uuid4().hex}"
        try:
            # The client retries for minutes by default; a readiness answer has to come in seconds.
            async with asyncio.timeout(self.probe_timeout):
                await obstore.put_async(self.store, probe, b"")
                await obstore.delete_async(self.store, probe)
        except (TimeoutError, *_FAILURES):
            return False
        return True


class _Counter:
    """Pass chunks through unchanged while counting their bytes (the return value of `write`)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.count = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self.count += len(chunk)
            yield chunk


def _check(key: str) -> str:
    # The same key rule as LocalStorage, so a key valid for one backend is valid for the other.
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key
