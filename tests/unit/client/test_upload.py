"""The streamed multipart body: exact length, bounded chunks, progress, and the gateway's parser accepts it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from gateway.client.upload import CHUNK_BYTES, MultipartFile
from gateway.files.upload import MultipartUpload


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_body_streams_in_bounded_chunks_and_parses_on_the_server(tmp_path: Path) -> None:
    path = tmp_path / 'we"ird name.jsonl'
    data = bytes(range(256)) * (3 * CHUNK_BYTES // 256 + 7)  # a little over 3 MiB, every byte value
    path.write_bytes(data)
    progress: list[int] = []
    body = MultipartFile(path, {"purpose": "batch"}, on_progress=progress.append)
    chunks = list(body.chunks())
    assert sum(map(len, chunks)) == int(body.headers["content-length"])
    assert max(map(len, chunks)) <= CHUNK_BYTES  # never the whole file in memory
    assert sum(progress) == len(data)
    assert len(progress) == 4

    upload = MultipartUpload(_aiter(chunks), body.boundary)
    received = b"".join([chunk async for chunk in upload.file_chunks()])
    assert received == data
    assert upload.fields == {"purpose": "batch"}
    assert upload.filename == 'we"ird name.jsonl'  # escaped on the wire, unescaped by the parser


def test_empty_file_and_a_file_that_shrinks(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    body = MultipartFile(empty, {"purpose": "batch"})
    assert sum(map(len, body.chunks())) == int(body.headers["content-length"])
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"x" * 100)
    shrinking = MultipartFile(path, {})
    path.write_bytes(b"x" * 10)
    with pytest.raises(OSError, match="shrank"):
        list(shrinking.chunks())
