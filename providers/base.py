"""The provider protocol: what the gateway's worker asks of every upstream.

The worker validates a batch, then drives its provider through four calls:

    state = await provider.submit(job)                       # once; idempotent per job.batch_id
    outcome, state = await provider.poll(job, state)         # on a schedule, until Finished
    state = await provider.cancel(job, state)                # when the user cancels
    async for line in provider.fetch_results(job, state):    # once Finished: every result line
        ...
    await provider.cleanup(job, state)                       # after the results are stored

`state` is the provider's own opaque bytes (JSON by convention), persisted by the worker on the batch
record after every call that returns it, so any worker can pick a batch up after a crash.

Providers that execute work themselves (the native executor) also implement `run(stop)`, which the
worker process keeps running in the background until `stop` is set.

Generic code never branches on a provider's name or kind: differences live in the implementations.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import msgspec

from accounting.price_windows import PriceWindow
from accounting.served import ServedTokens

if TYPE_CHECKING:  # asyncio costs ~25 ms to import: `batchgate validate --config` loads this module without it
    import asyncio

# How one upstream HTTP call ended: the `outcome` label of the upstream metrics.
UpstreamOutcome = Literal["ok", "http_4xx", "http_429", "http_5xx", "timeout", "connection_error"]

# Told of every upstream HTTP call: (provider name, outcome, seconds). The gateway passes its metrics here.
UpstreamObserver = Callable[[str, UpstreamOutcome, float], None]


def outcome_of_status(status: int) -> UpstreamOutcome:
    if status == 429:
        return "http_429"
    if status >= 500:
        return "http_5xx"
    return "http_4xx" if status >= 400 else "ok"


__all__ = [
    "BatchError",
    "BatchJob",
    "BlobStore",
    "Finished",
    "PollOutcome",
    "Progress",
    "Provider",
    "ProviderError",
    "Running",
    "SelfExecuting",
    "UpstreamObserver",
    "UpstreamOutcome",
    "outcome_of_status",
]


class BlobStore(Protocol):
    """Where file contents live (a local directory or an object store); the gateway provides it."""

    def open_read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, streamed in chunks."""
        ...

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the streamed chunks under `key` atomically (all or nothing); return the byte count."""
        ...

    async def delete(self, key: str) -> None: ...


class BatchJob(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a provider needs to know about one validated gateway batch."""

    batch_id: str
    tenant: str
    endpoint: str
    model: str  # as the client wrote it in body.model
    upstream_model: str  # what the provider calls it; lines are rewritten when it differs
    input_key: str  # BlobStore key of the validated input file
    input_bytes: int
    total_requests: int
    expires_at: int  # unix seconds: the end of the completion window
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    # The route's time-of-day prices: a provider that serves line by line keeps usage per multiplier.
    price_windows: tuple[PriceWindow, ...] = ()


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchError(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a Batch's `errors.data` (OpenAI's BatchError)."""

    code: str
    message: str
    param: str | None = None
    line: int | None = None


class Running(msgspec.Struct, frozen=True, kw_only=True, tag="running"):
    """The provider is still working; `status` is the nearest OpenAI status for what it is doing."""

    progress: Progress
    status: Literal["in_progress", "finalizing", "cancelling"] = "in_progress"
    # Poll again within this many seconds (None: the worker's own slowing schedule). A provider whose
    # state is a cheap read (the native executor's counters) asks for prompt polls, so a batch is seen
    # finished soon after its last line.
    poll_after: float | None = None


class Finished(msgspec.Struct, frozen=True, kw_only=True, tag="finished"):
    """The provider is done; results (possibly partial) can be fetched, except for `failed`."""

    outcome: Literal["completed", "expired", "cancelled", "failed"]
    progress: Progress
    errors: tuple[BatchError, ...] = ()
    # The error code of requests left without a result line of a `completed` batch, when the provider knows
    # why (the gateway's `result_missing` otherwise).
    missing_code: str | None = None
    # The tokens per price multiplier in effect when served, from a provider that knows (the native
    # executor on a route with price windows); None: the gateway prices the batch at its completion time.
    served: ServedTokens | None = None


PollOutcome = Running | Finished


class ProviderError(Exception):
    """A provider call failed. `retryable` says whether the worker should try again later.

    The message must be safe to show a user: it names the provider and the problem, never a key.
    `unserved` says the upstream does not serve this batch at all (no batch API there, or not this model or
    endpoint): the model's next route may, where a retry never will.
    """

    def __init__(self, message: str, *, retryable: bool, code: str = "provider_error", unserved: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.unserved = unserved


@runtime_checkable
class Provider(Protocol):
    name: str

    async def submit(self, job: BatchJob) -> bytes:
        """Start the batch upstream and return the state. Calling it again for the same batch (after a
        crash at any point) must not start it twice."""
        ...

    async def poll(self, job: BatchJob, state: bytes) -> tuple[PollOutcome, bytes]: ...

    async def cancel(self, job: BatchJob, state: bytes) -> bytes:
        """Ask the upstream to stop; polls then report `cancelling` until `Finished(cancelled)`."""
        ...

    def fetch_results(self, job: BatchJob, state: bytes) -> AsyncIterator[bytes]:
        """Every result line the upstream produced (output and error lines alike), one JSON object per
        item without its newline, in any order. Lines for requests that never ran may be missing: the
        gateway writes `batch_expired` / `batch_cancelled` lines for those."""
        ...

    async def cleanup(self, job: BatchJob, state: bytes) -> None:
        """Release upstream or intermediate resources once the gateway stored the results."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SelfExecuting(Protocol):
    """A provider that does the work itself, in every worker process."""

    async def run(self, stop: asyncio.Event) -> None: ...
