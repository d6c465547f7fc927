"""Cutting a byte stream into lines, whatever the chunking, with UTF-8 checked per line.

Lines wholly inside a chunk are handed over as memoryview slices (no copy); only a line that spans
chunks is assembled, and it never grows past `max_line_bytes` (the rest of it is skipped and reported).
msgspec checks the UTF-8 of the strings it decodes, but not of fields it skips: a region whose lines
the sink's strict decoder reads in full (`whole_block`) needs no other check; else UTF-8 is checked once
per region (an ASCII chunk is cheap), and line by line only where that region fails.
"""

from __future__ import annotations

import codecs
from typing import Protocol

__all__ = ["LineSink", "LineSplitter"]


class LineSink(Protocol):
    def whole_block(self, chunk: bytes, start: int, end: int) -> bool:
        """Take the whole lines in chunk[start:end] at once if a decode that reads every byte accepts them."""

    def block(self, chunk: bytes, start: int, end: int) -> bool:
        """Take the whole lines in chunk[start:end] at once if it can (valid UTF-8); False: line by line."""

    def line(self, data: bytes | memoryview, valid_utf8: bool) -> None: ...

    def too_long(self) -> None: ...


def _utf8_ok(data: bytes | memoryview) -> bool:
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


class LineSplitter:
    __slots__ = ("_max_line", "_sink", "_skipping", "_tail")

    def __init__(self, sink: LineSink, max_line_bytes: int) -> None:
        self._sink = sink
        self._max_line = max_line_bytes
        self._tail = bytearray()
        self._skipping = False  # the current line overflowed: drop bytes until its newline

    def feed(self, chunk: bytes) -> None:
        start = 0
        if self._tail or self._skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                self._extend(chunk)
                return
            self._extend(chunk[:newline])
            self._end_tail()
            start = newline + 1
        end = chunk.rfind(b"\n") + 1
        if end > start:
            self._region(chunk, start, end)
            start = end
        if start < len(chunk):
            self._extend(chunk[start:])

    def close(self) -> None:
        """Hand over a last line that has no newline after it."""
        if self._tail or self._skipping:
            self._end_tail()

    def _region(self, chunk: bytes, start: int, end: int) -> None:
        sink, limit = self._sink, self._max_line
        fits = end - start <= limit
        if fits and sink.whole_block(chunk, start, end):
            return  # every byte was decoded, and so checked as UTF-8, by msgspec
        view = memoryview(chunk)
        checked = chunk.isascii() or _utf8_ok(view[start:end])
        if checked and fits and sink.block(chunk, start, end):
            return
        while start < end:
            newline = chunk.index(b"\n", start, end)
            line = view[start:newline]
            if newline - start > limit:
                sink.too_long()
            else:
                sink.line(line, checked or _utf8_ok(line))
            start = newline + 1

    def _extend(self, piece: bytes) -> None:
        if self._skipping:
            return
        self._tail += piece
        if len(self._tail) > self._max_line:
            self._skipping = True
            self._tail = bytearray()  # give the memory back now, not at the newline

    def _end_tail(self) -> None:
        if self._skipping:
            self._skipping = False
            self._sink.too_long()
            return
        line = bytes(self._tail)
        self._tail = bytearray()
        self._sink.line(line, line.isascii() or _utf8_ok(line))
