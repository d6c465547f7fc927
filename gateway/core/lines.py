"""Splitting a streamed file (a blob, a download) into its lines."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

__all__ = ["split_lines"]


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncGenerator[bytes, None]:
    """Non-empty lines without their newline, holding at most one partial line in memory. Closes `chunks`
    when the consumer stops early, so a blob or a download is never left open."""
    rest = b""
    try:
        async for chunk in chunks:
            parts = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            rest = parts.pop()
            for part in parts:
                if part.strip():
                    yield part.rstrip(b"\r")
        if rest.strip():
            yield rest.rstrip(b"\r")
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
