"""The OpenAI Files and Batches calls the adapter makes, on top of `Upstream`'s retrying transport."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TypeVar

import httpx
import msgspec

from gateway.core.lines import split_lines
from providers.base import ProviderError
from providers.openai_batch.client import Upstream
from providers.openai_batch.wire import (
    BatchView,
    FileView,
    batch_decoder,
    batch_page_decoder,
    file_decoder,
    file_page_decoder,
)

__all__ = ["UpstreamApi"]

_PAGE = 100  # the largest batches page OpenAI-style APIs serve
_T = TypeVar("_T")


def _read(decoder: msgspec.json.Decoder[_T], response: httpx.Response, name: str) -> _T:
    """A 2xx body in the shape the API promises. Anything else is the upstream's fault, like an outage (a proxy's
    error page, a cut-off body): retried, never a bug of ours that fails the batch."""
    try:
        return decoder.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        path = response.request.url.path
        raise ProviderError(
            f"provider {name!r}: {response.request.method} {path}: unreadable answer ({exc})", retryable=True
        ) from exc


class UpstreamApi:
    def __init__(self, upstream: Upstream) -> None:
        self.up = upstream

    async def upload(self, filename: str, size: int, chunks: Callable[[], AsyncIterable[bytes]]) -> FileView:
        """Multipart upload streamed from `chunks` (re-opened on each attempt), with an exact Content-Length."""
        boundary = f"batchgate-{secrets.token_hex(16)}"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            async for chunk in chunks():
                yield chunk
            yield tail

        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        headers["Content-Length"] = str(len(head) + size + len(tail))
        response = await self.up.call("POST", "/files", content=body, headers=headers, transfer=True)
        return _read(file_decoder, response, self.up.name)

    async def uploaded(self) -> dict[str, FileView]:
        """Complete earlier uploads by filename (an upload is listed only once the upstream has all of it)."""
        response = await self.up.call("GET", "/files", params={"purpose": "batch"})
        return {file.filename: file for file in _read(file_page_decoder, response, self.up.name).data}

    async def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchView:
        body = {"input_file_id": input_file_id, "endpoint": endpoint, "completion_window": "24h", "metadata": metadata}
        # One attempt: blindly re-sending a create that the upstream may have committed makes a duplicate.
        response = await self.up.call("POST", "/batches", content=msgspec.json.encode(body), attempts=1,
                                      headers={"Content-Type": "application/json"})  # fmt: skip
        return _read(batch_decoder, response, self.up.name)

    async def batches_since(self, created_after: int) -> AsyncIterator[BatchView]:
        """Upstream batches, newest first, down to the first one created before `created_after`."""
        params: dict[str, str | int] = {"limit": _PAGE}
        while True:
            page = _read(batch_page_decoder, await self.up.call("GET", "/batches", params=params), self.up.name)
            for batch in page.data:
                if batch.created_at and batch.created_at < created_after:
                    return
                yield batch
            if not page.data or page.has_more is False:
                return
            params["after"] = page.data[-1].id

    async def retrieve(self, batch_id: str) -> BatchView:
        return _read(batch_decoder, await self.up.call("GET", f"/batches/{batch_id}"), self.up.name)

    async def cancel(self, batch_id: str) -> None:
        try:
            await self.up.call("POST", f"/batches/{batch_id}/cancel")
        except ProviderError as exc:
            # An upstream refuses to cancel a batch that already ended; polling reports how it ended.
            if exc.retryable or exc.code == "provider_auth_failed":
                raise

    async def delete_file(self, file_id: str) -> None:
        await self.up.call("DELETE", f"/files/{file_id}")

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's lines, streamed. Retries happen before the first byte only; a break mid-file raises
        a retryable error and the gateway fetches the results again from the start."""
        response = await self.up.call("GET", f"/files/{file_id}/content", stream=True, transfer=True)
        try:
            async for line in split_lines(response.aiter_bytes()):
                yield line
        except Exception as exc:
            if isinstance(exc, ProviderError):
                raise
            name = self.up.name
            raise ProviderError(f"provider {name!r}: download of {file_id} broke off", retryable=True) from exc
        finally:
            await response.aclose()
