"""Result file assembly shared by every provider: output file (successes) and error file (everything else).

Lines from the provider are classified once by `custom_id` (a repeated id is dropped, so every input
line appears exactly once), spooled to temporary files and streamed to storage; then every input
`custom_id` with no result gets a never-run line (`batch_expired`, `batch_cancelled`, ...). Usage is
summed from the same lines. Memory holds the set of ids seen, never a file.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Literal

import msgspec

from accounting.usage import UsageAccumulator, UsageTotals
from gateway.core.ids import new_line_id
from gateway.storage.local import iter_file
from gateway.validation.endpoints import ENDPOINTS
from providers.base import BlobStore
from providers.retry import is_retryable_status

__all__ = [
    "NEVER_RAN_MESSAGES",
    "UNFINISHED_CODES",
    "AssembledFile",
    "Assembly",
    "Spool",
    "Standing",
    "assemble",
    "standing",
]

NEVER_RAN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
    "batch_failed": "This request was not executed because the batch failed.",
    "result_missing": "The provider reported the batch finished but returned no result for this request.",
    # A worker step gave up (gateway/worker/failures.py): the codes it ends a batch with.
    "upstream_result_missing": "The provider's result file for this batch is gone; this request's result is lost.",
    "input_file_missing": "This request was not executed: the batch's input file no longer exists.",
    "internal_error": "This request has no result: the gateway hit an internal error finishing the batch.",
    "storage_unavailable": "This request has no result: the gateway's storage stayed unavailable.",
    "redis_unavailable": "This request has no result: the gateway's Redis stayed unavailable.",
    "network_error": "This request has no result: the provider stayed unreachable.",
    "upstream_unavailable": "This request has no result: the provider stayed unavailable.",
}


# Error codes of result lines the route could not finish, rather than answered: the request never ran there
# (the upstream batch ended first, or that part was refused), or every attempt timed out or lost its
# connection. A model's next route may finish them (gateway/worker/legs.py).
UNFINISHED_CODES = frozenset({"batch_expired", "batch_cancelled", "batch_failed", "request_timeout", "request_failed"})


class _Response(msgspec.Struct):
    status_code: int = 0


class _ErrorCode(msgspec.Struct):
    code: str | None = None


_NULL = msgspec.Raw(b"null")


class _LineView(msgspec.Struct):
    custom_id: str | None = None
    response: _Response | None = None
    # Not `Raw | None`: msgspec reads that union as "null only" and rejects every line carrying an error object.
    error: msgspec.Raw = _NULL


class _NeverRanError(msgspec.Struct):
    code: str
    message: str


class _NeverRanLine(msgspec.Struct, omit_defaults=False):
    id: str
    custom_id: str
    response: None
    error: _NeverRanError


class AssembledFile(msgspec.Struct, frozen=True):
    storage_key: str
    bytes: int
    lines: int


class Assembly(msgspec.Struct, frozen=True):
    output: AssembledFile | None
    errors: AssembledFile | None
    usage: UsageTotals
    total: int
    completed: int
    failed: int


_view = msgspec.json.Decoder(_LineView).decode
_error_code = msgspec.json.Decoder(_ErrorCode | None).decode
_encode = msgspec.json.Encoder().encode


Standing = Literal["succeeded", "failed", "unfinished"]


def standing(line: bytes) -> tuple[str, Standing] | None:
    """(custom_id, standing) of a result line, None for a line that is not one. `unfinished`: it ended with a
    retryable status (429, 5xx, ...) after the route's own retries, or with an `UNFINISHED_CODES` error."""
    try:
        view = _view(line)
    except msgspec.DecodeError:
        return None
    if view.custom_id is None:
        return None
    if _is_success(view):
        return view.custom_id, "succeeded"
    if view.response is not None and view.response.status_code:
        return view.custom_id, "unfinished" if is_retryable_status(view.response.status_code) else "failed"
    try:
        error = _error_code(view.error)
    except msgspec.DecodeError:
        return view.custom_id, "failed"
    return view.custom_id, "unfinished" if error is not None and error.code in UNFINISHED_CODES else "failed"


class Spool:
    """A temporary file collecting lines, then streamed into storage (only when non-empty)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.handle: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed in `store`
        self.lines = 0

    def add(self, line: bytes) -> None:
        self.handle.write(line)
        self.handle.write(b"\n")
        self.lines += 1

    async def store(self, storage: BlobStore, key: str) -> AssembledFile | None:
        try:
            if not self.lines:
                return None
            self.handle.seek(0)
            size = await storage.write(key, iter_file(self.handle))
            return AssembledFile(storage_key=key, bytes=size, lines=self.lines)
        finally:
            self.handle.close()


def _is_success(view: _LineView) -> bool:
    return bytes(view.error) == b"null" and view.response is not None and 200 <= view.response.status_code < 300


async def assemble(
    *,
    storage: BlobStore,
    spool_dir: Path,
    lines: AsyncIterator[bytes],
    custom_ids: AsyncIterator[str],
    output_key: str,
    error_key: str,
    never_ran_code: str,
    endpoint: str = "/v1/chat/completions",
) -> Assembly:
    """Write the two result files from the provider's `lines`; `custom_ids` lists every input request."""
    output, errors = Spool(spool_dir), Spool(spool_dir)
    usage = UsageAccumulator(ENDPOINTS[endpoint].usage)
    seen: set[str] = set()
    try:
        async for line in lines:
            try:
                view = _view(line)
            except msgspec.DecodeError:
                continue  # not a result line; its custom_id (if any) gets a never-run line below
            if view.custom_id is None or view.custom_id in seen:
                continue
            seen.add(view.custom_id)
            (output if _is_success(view) else errors).add(line)
            usage.add(line)
        async for custom_id in custom_ids:
            if custom_id not in seen:
                seen.add(custom_id)
                errors.add(_never_ran_line(custom_id, never_ran_code))
    except BaseException:
        output.handle.close()
        errors.handle.close()
        raise
    stored_output = await output.store(storage, output_key)
    stored_errors = await errors.store(storage, error_key)
    completed = stored_output.lines if stored_output else 0
    failed = stored_errors.lines if stored_errors else 0
    return Assembly(
        output=stored_output,
        errors=stored_errors,
        usage=usage.totals(),
        total=completed + failed,
        completed=completed,
        failed=failed,
    )


def _never_ran_line(custom_id: str, code: str) -> bytes:
    message = NEVER_RAN_MESSAGES.get(code, f"This request has no result: the batch ended with {code}.")
    error = _NeverRanError(code=code, message=message)
    return _encode(_NeverRanLine(id=new_line_id(), custom_id=custom_id, response=None, error=error))
