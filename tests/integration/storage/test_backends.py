"""One behavioural contract, run against both backends: LocalStorage and S3Storage (moto over loopback)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.storage.factory import Storage
from gateway.storage.local import StorageError
from gateway.storage.s3 import S3Storage
from tests.integration.storage.conftest import SMALL_PART

MIB = 1024 * 1024


async def chunks_of(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open_read(key)])


async def test_round_trip_returns_the_byte_count(storage: Storage) -> None:
    data = b'{"custom_id": "a"}\n' * 1000
    assert await storage.write("file-abc", chunks_of(data)) == len(data)
    assert await read_all(storage, "file-abc") == data


async def test_nested_keys_and_overwrite(storage: Storage) -> None:
    await storage.write("batches/b1/output.jsonl", chunks_of(b"first"))
    await storage.write("batches/b1/output.jsonl", chunks_of(b"second"))
    assert await read_all(storage, "batches/b1/output.jsonl") == b"second"


async def test_empty_object(storage: Storage) -> None:
    assert await storage.write("empty", chunks_of(b"")) == 0
    assert await storage.exists("empty")
    assert await read_all(storage, "empty") == b""


async def test_multi_part_object_streams_both_ways(storage: Storage) -> None:
    data = os.urandom(3 * SMALL_PART + 123_457)  # four parts on S3: three full, one short
    assert await storage.write("big", chunks_of(data, MIB)) == len(data)
    digest = hashlib.sha256()
    largest = 0
    async for chunk in storage.open_read("big"):
        digest.update(chunk)
        largest = max(largest, len(chunk))
    assert digest.digest() == hashlib.sha256(data).digest()
    assert largest < len(data) // 2, "the read came back as one buffer instead of a stream"


async def test_s3_upload_is_multipart_under_the_prefix(s3_storage: S3Storage, s3_client: Any, bucket: str) -> None:
    data = os.urandom(3 * SMALL_PART + 1)
    await s3_storage.write("parts", chunks_of(data, MIB))
    head = s3_client.head_object(Bucket=bucket, Key="gateway/files/parts")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-4")  # a multipart ETag names its part count


class Interrupted(Exception):
    pass


async def failing_after(data: bytes, size: int) -> AsyncIterator[bytes]:
    async for chunk in chunks_of(data, size):
        yield chunk
    raise Interrupted("the client went away")


async def test_failed_write_leaves_nothing(storage: Storage, backend: str, request: Any) -> None:
    with pytest.raises(Interrupted):
        await storage.write("torn", failing_after(os.urandom(3 * SMALL_PART), MIB))
    assert not await storage.exists("torn")
    with pytest.raises(StorageError):
        await read_all(storage, "torn")
    if backend == "s3":
        client, bucket = request.getfixturevalue("s3_client"), request.getfixturevalue("bucket")
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    else:
        assert list(request.getfixturevalue("tmp_path").rglob("*torn*")) == []


async def test_failed_overwrite_keeps_the_old_object(storage: Storage) -> None:
    await storage.write("kept", chunks_of(b"old contents"))
    with pytest.raises(Interrupted):
        await storage.write("kept", failing_after(os.urandom(2 * SMALL_PART), MIB))
    assert await read_all(storage, "kept") == b"old contents"


async def test_delete_and_exists(storage: Storage) -> None:
    await storage.write("gone-soon", chunks_of(b"x"))
    assert await storage.exists("gone-soon")
    await storage.delete("gone-soon")
    assert not await storage.exists("gone-soon")
    await storage.delete("gone-soon")  # deleting a missing object is not an error


async def test_missing_object_raises_storage_error(storage: Storage) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await read_all(storage, "never-written")


async def test_check_writable_leaves_no_probe(storage: Storage, backend: str, request: Any) -> None:
    assert await storage.check_writable()
    if backend == "s3":
        client, bucket = request.getfixturevalue("s3_client"), request.getfixturevalue("bucket")
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize("key", ["../escape", "a//b", "/abs", "a/../b", "sp ace", ""])
async def test_invalid_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.write(key, chunks_of(b"x"))
