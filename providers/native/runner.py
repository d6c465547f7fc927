"""Running one line: pace, send, retry what is retryable, record the outcome once.

A 429 or 503 with a Retry-After delays that line, not before its deadline, and cuts the concurrency
limit; the provider as a whole pauses only when the upstream clearly limits everyone (`UpstreamGate`).
"""

from __future__ import annotations

import random
from typing import NamedTuple

from providers.native.ledger import Ledger
from providers.native.limits import AdaptiveLimit, RateLimiter, UpstreamGate
from providers.native.lines import ChunkLine, error_envelope, failure_line, response_line
from providers.native.pending import Chunk
from providers.native.settings import NativeSettings
from providers.native.transport import Attempt, Delivered, Undelivered, Upstream
from providers.retry import RetryPolicy, backoff_seconds

__all__ = ["LineRunner", "Retry", "exhausted_line", "outcome_line", "served_of"]

_LOST_ATTEMPTS = "The request was not answered within the allowed attempts (some were lost to worker restarts)."
_MALFORMED = "The upstream answered with a success status but a body that is not a JSON object."


def outcome_line(custom_id: str, attempt: Attempt) -> tuple[bytes, bool]:
    """The output or error line for a final attempt, and whether it is a success."""
    if isinstance(attempt, Undelivered):
        return failure_line(custom_id, attempt.code, attempt.message), False
    # Unique, not secret (like the line ids): the process-seeded PRNG avoids a urandom system call per line.
    request_id = attempt.request_id or f"req_{random.getrandbits(96):024x}"
    if 200 <= attempt.status < 300:
        if attempt.json_ok:
            return response_line(custom_id, attempt.status, request_id, attempt.body), True
        return failure_line(custom_id, "malformed_response", _MALFORMED), False
    return response_line(custom_id, attempt.status, request_id, error_envelope(attempt.status, attempt.body)), False


def exhausted_line(custom_id: str, last: Attempt | None) -> tuple[bytes, bool]:
    """The outcome of a line whose attempts were all granted, some to workers that died before answering."""
    if last is None:
        return failure_line(custom_id, "request_failed", _LOST_ATTEMPTS), False
    return outcome_line(custom_id, last)


def served_of(chunk: Chunk, attempt: Attempt | None) -> bytes:
    """The line's tokens in the bucket of this moment's price, when the batch's route has price windows."""
    if chunk.rates is None or type(attempt) is not Delivered:
        return b""
    return chunk.rates.served(chunk.endpoint, attempt.body)


class Retry(NamedTuple):
    delay: float  # seconds of backoff before the next attempt
    last: Attempt  # reported if the next grant finds the attempts used up


def _retryable(attempt: Attempt) -> bool:
    return isinstance(attempt, Undelivered) or attempt.retryable


class LineRunner:
    def __init__(
        self,
        settings: NativeSettings,
        ledger: Ledger,
        limiter: RateLimiter,
        limit: AdaptiveLimit,
        upstream: Upstream,
    ) -> None:
        self._policy = RetryPolicy.of(settings)
        self._max_attempts = settings.max_attempts
        self._ledger = ledger
        self._limiter = limiter
        self._limit = limit
        self._upstream = upstream
        self.gate = UpstreamGate()
        self._paced = limiter.enabled  # fixed by the settings

    async def step(self, chunk: Chunk, line: ChunkLine, granted: int) -> Retry | None:
        """Send `line` under attempt number `granted` (already counted by RESERVE). Returns when to try
        again (the caller's business, so a line in backoff holds no worker), or None once the line needs
        nothing more: then the chunk is told when its outcome is in Redis."""
        batch_id, endpoint = chunk.batch_id, chunk.endpoint
        limit, gate = self._limit, self.gate
        await limit.acquire()
        reserved = 0  # TPM tokens this attempt holds on the shared schedule
        try:
            if self._paced or gate.engaged:  # kept off the hot path (one coroutine frame less)
                reserved = await self._pace(line.tokens)
            attempt = await self._send(endpoint, line, reserved)
            gate.answered += 1
            if type(attempt) is Delivered and attempt.status < 300 and attempt.json_ok and not reserved:
                limit.on_success()  # _observe's whole work for a good answer when TPM is off (the common case)
            else:
                self._observe(attempt, reserved)
        finally:
            limit.release()
        if not _retryable(attempt) or granted >= self._max_attempts:
            text, ok = outcome_line(line.custom_id, attempt)
            served = served_of(chunk, attempt)
            self._ledger.record(batch_id, line.custom_id, text, ok=ok, done=chunk.line_done, served=served)
            return None
        await self._ledger.release(batch_id)
        return Retry(self._delay(granted, attempt), attempt)

    async def _pace(self, tokens: int) -> int:
        """Wait for a provider-wide pause and for this line's rate slot; return the TPM tokens reserved."""
        await self.gate.wait()
        reserved = self._limiter.reserved(tokens)
        await self._limiter.acquire(reserved)  # at once when RPM/TPM are off
        try:
            await self.gate.wait()  # a burst of 429s may have paused the provider while this line waited
        except BaseException:
            self._limiter.settle(reserved, 0)
            raise
        return reserved

    async def _send(self, endpoint: str, line: ChunkLine, reserved: int) -> Attempt:
        try:
            return await self._upstream.send(endpoint, bytes(line.body))
        except BaseException:  # cancelled mid-request (shutdown, a cancelled batch): nothing was used
            self._limiter.settle(reserved, 0)
            raise

    def _observe(self, attempt: Attempt, reserved: int) -> None:
        if type(attempt) is not Delivered:  # a timeout or a broken connection used no tokens
            self._limiter.settle(reserved, 0)
            return
        status = attempt.status
        if status == 429 or status == 503:
            self._limit.on_overload()
            self.gate.overloaded(attempt.retry_after, attempt.quota_spent)
        elif status < 300:
            self._limit.on_success()
        if status < 300:  # what a 2xx used, when it says; it may not, and then the reservation stands
            self._limiter.settle(reserved, attempt.total_tokens or None)
        else:
            self._limiter.settle(reserved, 0)

    def _delay(self, granted: int, attempt: Attempt) -> float:
        """Backoff before the next attempt of this line; never before the Retry-After it was given."""
        delay = backoff_seconds(self._policy, granted)
        if type(attempt) is Delivered and attempt.retry_after is not None:
            delay = max(delay, attempt.retry_after)
        return delay
