"""Streaming multipart parsing for `POST /v1/files`: the file part goes to storage chunk by chunk.

The request body is never held whole. Small form fields (`purpose`, `expires_after[...]`) are
collected as they pass; the file part's bytes are yielded to the storage writer while the size limit
is enforced. The limit for `purpose=batch` (200 MB) applies as soon as `purpose` has been seen, which is
before the file with the openai SDK (it sends the fields first); otherwise the general 512 MB limit
applies while streaming and the batch limit is checked at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import multipart

from gateway.core.errors import InvalidRequest, PayloadTooLarge

__all__ = ["MAX_BATCH_FILE_BYTES", "MAX_FILE_BYTES", "MultipartUpload"]

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024
_MAX_FIELD_BYTES = 1024
_MAX_PARTS = 8
_KNOWN_FIELDS = frozenset({"purpose", "expires_after[anchor]", "expires_after[seconds]", "file"})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"File is too large: the limit is {limit} bytes.", param="file")


class MultipartUpload:
    """Parse one multipart body. Iterate `file_chunks()` to stream the file; then read the fields."""

    def __init__(self, body: AsyncIterable[bytes], boundary: str) -> None:
        self._body = body
        self._parser = multipart.PushMultipartParser(boundary, max_segment_count=_MAX_PARTS)
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0

    @property
    def limit(self) -> int:
        return MAX_BATCH_FILE_BYTES if self.fields.get("purpose") == "batch" else MAX_FILE_BYTES

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file part's bytes; consumes the whole body, collecting every other field on the way."""
        segment: multipart.MultipartSegment | None = None
        field_value = bytearray()
        try:
            async for chunk in self._body:
                for event in self._parser.parse(chunk):
                    if isinstance(event, multipart.MultipartSegment):
                        segment = self._start_segment(event)
                        field_value.clear()
                    elif event is None:
                        self._end_segment(segment, field_value)
                        segment = None
                    elif segment is not None and segment.name == "file":
                        self.file_bytes += len(event)
                        if self.file_bytes > self.limit:
                            raise _too_large(self.limit)
                        yield event
                    else:
                        field_value += event
                        if len(field_value) > _MAX_FIELD_BYTES:
                            raise InvalidRequest("A form field is too long.", param=segment.name if segment else None)
            self._parser.close()
        except multipart.ParserLimitReached:
            raise InvalidRequest(f"Too many form parts: at most {_MAX_PARTS} are accepted.") from None
        except multipart.ParserError as exc:
            raise InvalidRequest(f"The multipart body is malformed: {exc}") from None

    def _start_segment(self, segment: multipart.MultipartSegment) -> multipart.MultipartSegment:
        if segment.name not in _KNOWN_FIELDS:
            raise InvalidRequest(f"Unknown form field {segment.name!r}.", param=segment.name, code="unknown_parameter")
        if segment.name in self.fields or (segment.name == "file" and self.filename is not None):
            raise InvalidRequest(f"Form field {segment.name!r} appears twice.", param=segment.name)
        if segment.name == "file":
            self.filename = segment.filename or "upload"
        return segment

    def _end_segment(self, segment: multipart.MultipartSegment | None, value: bytearray) -> None:
        if segment is None or segment.name == "file":
            return
        try:
            self.fields[segment.name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(f"Form field {segment.name!r} is not UTF-8.", param=segment.name) from None
