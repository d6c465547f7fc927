"""The public OpenAI Files + Batches API over httpx: what `batchgate submit|batches|files` call.

httpx rather than the openai SDK: it is already a runtime dependency, and the SDK would add a dozen
packages to every install of the gateway for the handful of calls made here. Every method returns a
`Reply`: the decoded view, and the body exactly as the server sent it (for `--json`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from gateway.client.errors import AuthFailed, RequestRejected, Unavailable, UsageProblem
from gateway.client.upload import MultipartFile
from gateway.client.wire import (
    BatchPage,
    BatchView,
    CostView,
    DeletedView,
    FilePage,
    FileView,
    error_message,
)
from providers.retry import is_retryable_status

__all__ = ["Api", "Reply"]

T = TypeVar("T")
Progress = Callable[[int], None]
# Generous write/read timeouts: a 200 MB upload or a slow result file is not a 5 s call.
_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=10.0)


class Reply(msgspec.Struct, Generic[T]):
    value: T
    raw: bytes


class Api:
    def __init__(self, base_url: str, api_key: str, *, timeout: httpx.Timeout = _TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"authorization": f"Bearer {api_key}", "user-agent": "batchgate-cli"}
        self._http = httpx.Client(base_url=self.base_url + "/", headers=headers, timeout=timeout)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def upload(self, path: Path, purpose: str, *, on_progress: Progress | None = None) -> Reply[FileView]:
        body = MultipartFile(path, {"purpose": purpose}, on_progress=on_progress)
        return self._call("POST", "files", FileView, content=body.chunks(), headers=body.headers)

    def create_batch(self, file_id: str, endpoint: str, metadata: dict[str, str] | None) -> Reply[BatchView]:
        payload = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h", "metadata": metadata}
        return self._call("POST", "batches", BatchView, json=payload)

    def batch(self, batch_id: str) -> Reply[BatchView]:
        return self._call("GET", f"batches/{batch_id}", BatchView)

    def batches(self, *, limit: int, after: str | None = None) -> Reply[BatchPage]:
        return self._call("GET", "batches", BatchPage, params=_params(limit=limit, after=after))

    def cancel(self, batch_id: str) -> Reply[BatchView]:
        return self._call("POST", f"batches/{batch_id}/cancel", BatchView)

    def file(self, file_id: str) -> Reply[FileView]:
        return self._call("GET", f"files/{file_id}", FileView)

    def files(self, *, limit: int, after: str | None = None, purpose: str | None = None) -> Reply[FilePage]:
        return self._call("GET", "files", FilePage, params=_params(limit=limit, after=after, purpose=purpose))

    def delete_file(self, file_id: str) -> Reply[DeletedView]:
        return self._call("DELETE", f"files/{file_id}", DeletedView)

    def cost(self, batch_id: str) -> CostView | None:
        """batchgate's accounting record for the batch, or None where the server has none (any non-200)."""
        with self._transport_errors():
            response = self._http.get(f"accounting/batches/{batch_id}")
        if response.status_code != 200:
            return None
        try:
            return msgspec.json.decode(response.content, type=CostView)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    def download(
        self,
        file_id: str,
        dest: Path,
        *,
        on_start: Callable[[int | None], None] | None = None,
        on_progress: Progress | None = None,
    ) -> int:
        """Stream a file's content to `dest` (through `dest.part`, so a cut-off download leaves no `dest`)."""
        partial = dest.with_name(dest.name + ".part")
        written = 0
        with self._transport_errors(), self._http.stream("GET", f"files/{file_id}/content") as response:
            if response.status_code != 200:
                response.read()
                _raise_for(response)
            length = response.headers.get("content-length")
            if on_start is not None:
                on_start(int(length) if length and length.isdigit() else None)
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    written += len(chunk)
                    if on_progress is not None:
                        on_progress(len(chunk))
        partial.replace(dest)
        return written

    def _call(self, method: str, path: str, view: type[T], **kwargs: Any) -> Reply[T]:
        with self._transport_errors():
            response = self._http.request(method, path, **kwargs)
        _raise_for(response)
        try:
            return Reply(msgspec.json.decode(response.content, type=view), response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Unavailable(f"unexpected answer from {method} {self.base_url}/{path}: {exc}") from None

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.UnsupportedProtocol:
            raise UsageProblem(f"the base URL {self.base_url!r} is not an http(s) URL") from None
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}") from None


def _params(**values: str | int | None) -> dict[str, str | int]:
    return {key: value for key, value in values.items() if value is not None}


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = error_message(response.content)
    if status in (401, 403):
        raise AuthFailed(f"authentication failed ({status}): {message}")
    if is_retryable_status(status):
        raise Unavailable(f"the server is unavailable ({status}): {message}")
    raise RequestRejected(status, message)
