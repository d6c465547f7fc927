"""A multipart/form-data body streamed from disk, with its exact length known up front.

httpx would stream a file part too, but it offers no progress hook; building the few framing bytes
ourselves keeps the body a generator of 1 MiB chunks (memory stays flat for a 200 MB file) and lets
every chunk report progress. A Content-Length (not chunked encoding) is what OpenAI's edge expects.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["CHUNK_BYTES", "MultipartFile"]

CHUNK_BYTES = 1024 * 1024
Progress = Callable[[int], None]


def _quoted(value: str) -> str:
    # The escaping browsers (and httpx) apply to form-data parameter values.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartFile:
    """One file part named `file` after plain text `fields`, as the openai SDK sends an upload."""

    def __init__(self, path: Path, fields: dict[str, str], *, on_progress: Progress | None = None) -> None:
        self.path = path
        self.boundary = secrets.token_hex(16)
        self._on_progress = on_progress
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{_quoted(path.name)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self._head = "".join(parts).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.file_bytes = path.stat().st_size

    @property
    def headers(self) -> dict[str, str]:
        return {
            "content-type": f"multipart/form-data; boundary={self.boundary}",
            "content-length": str(len(self._head) + self.file_bytes + len(self._tail)),
        }

    def chunks(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        with self.path.open("rb") as file:
            while sent < self.file_bytes and (chunk := file.read(min(CHUNK_BYTES, self.file_bytes - sent))):
                sent += len(chunk)
                if self._on_progress is not None:
                    self._on_progress(len(chunk))
                yield chunk
        if sent != self.file_bytes:
            raise OSError(f"{self.path} shrank while it was being uploaded")
        yield self._tail
