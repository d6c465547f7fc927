"""Running one line: grant an attempt, pace, send, retry what is retryable, record the outcome once."""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import NamedTuple

from providers.config import ProviderSettings
from providers.native.ledger import Ledger
from providers.native.limits import AdaptiveLimit, RateLimiter, UpstreamGate
from providers.native.lines import ChunkLine, error_envelope, failure_line, response_line
from providers.native.transport import Attempt, Delivered, Undelivered, Upstream
from providers.native.tuning import NativeTuning

__all__ = ["LineRunner", "Retry", "Step"]

_LOST_ATTEMPTS = "The request was not answered within the allowed attempts (some were lost to worker restarts)."
_MALFORMED = "The upstream answered with a success status but a body that is not a JSON object."


def outcome_line(custom_id: str, attempt: Attempt) -> tuple[bytes, bool]:
    """The output or error line for a final attempt, and whether it is a success."""
    if isinstance(attempt, Undelivered):
        return failure_line(custom_id, attempt.code, attempt.message), False
    request_id = attempt.request_id or f"req_{secrets.token_hex(12)}"
    if 200 <= attempt.status < 300:
        if attempt.json_ok:
            return response_line(custom_id, attempt.status, request_id, attempt.body), True
        return failure_line(custom_id, "malformed_response", _MALFORMED), False
    return response_line(custom_id, attempt.status, request_id, error_envelope(attempt.status, attempt.body)), False


class Retry(NamedTuple):
    delay: float  # seconds of backoff before the next attempt
    last: Attempt  # reported if the next grant finds the attempts used up


Step = Retry | asyncio.Future[object] | None


def _retryable(attempt: Attempt) -> bool:
    return isinstance(attempt, Undelivered) or attempt.retryable


class LineRunner:
    def __init__(
        self,
        settings: ProviderSettings,
        tuning: NativeTuning,
        ledger: Ledger,
        limiter: RateLimiter,
        limit: AdaptiveLimit,
        upstream: Upstream,
    ) -> None:
        self._max_attempts = settings.max_attempts
        self._tuning = tuning
        self._ledger = ledger
        self._limiter = limiter
        self._limit = limit
        self._upstream = upstream
        self.gate = UpstreamGate()

    async def step(self, batch_id: str, endpoint: str, line: ChunkLine, last: Attempt | None) -> Step:
        """One attempt at `line`: a Retry (when to try again is the caller's business, so a line in backoff
        holds no worker), the future of its outcome's recording (done once it is in Redis), or None when
        there was nothing to send."""
        await self._limit.acquire()
        try:
            granted = await self._ledger.reserve(batch_id, line.custom_id)
            if granted < 0:
                return None  # done elsewhere, cancelled, expired or cleaned up: nothing to send
            if granted > self._max_attempts:
                return self._record_exhausted(batch_id, line.custom_id, last)
            attempt = await self._send(endpoint, line)
        finally:
            self._limit.release()
        if not _retryable(attempt) or granted >= self._max_attempts:
            text, ok = outcome_line(line.custom_id, attempt)
            return self._ledger.record(batch_id, line.custom_id, text, ok=ok)
        await self._ledger.release(batch_id)
        return Retry(self._backoff(granted, attempt), attempt)

    async def run(self, batch_id: str, endpoint: str, line: ChunkLine) -> None:
        """Every attempt of `line` in a row, until its outcome is recorded (for one-off callers)."""
        last: Attempt | None = None
        while isinstance(step := await self.step(batch_id, endpoint, line, last), Retry):
            await asyncio.sleep(step.delay)
            last = step.last
        if step is not None:
            await step

    def _record_exhausted(self, batch_id: str, custom_id: str, last: Attempt | None) -> asyncio.Future[object]:
        if last is None:
            text, ok = failure_line(custom_id, "request_failed", _LOST_ATTEMPTS), False
        else:
            text, ok = outcome_line(custom_id, last)
        return self._ledger.record(batch_id, custom_id, text, ok=ok)

    async def _send(self, endpoint: str, line: ChunkLine) -> Attempt:
        if self._limiter.enabled:
            await self.gate.wait()
            await self._limiter.acquire(line.tokens)
        await self.gate.wait()  # a 429 may have arrived while this line waited for its rate slot
        attempt = await self._upstream.send(endpoint, bytes(line.body))
        if isinstance(attempt, Delivered):
            self._observe(attempt, line.tokens)
        return attempt

    def _observe(self, attempt: Delivered, estimate: int) -> None:
        if attempt.status == 429 or attempt.status == 503:
            self._limit.on_overload()
        elif attempt.status < 300:
            self._limit.on_success()
        if attempt.retry_after is not None and attempt.retryable:
            self.gate.push(attempt.retry_after)
        tpm_key = self._limiter.tpm_key
        if tpm_key is not None and attempt.total_tokens and attempt.total_tokens != estimate:
            # Queued with the next bookkeeping round trip; the line does not wait for it.
            self._ledger.correct_tokens(tpm_key, self._limiter.correction(attempt.total_tokens, estimate))

    def _backoff(self, granted: int, attempt: Attempt) -> float:
        base: float = min(self._tuning.backoff_cap_seconds, self._tuning.backoff_base_seconds * 2 ** (granted - 1))
        delay = base * random.uniform(0.5, 1.0)
        if isinstance(attempt, Delivered) and attempt.retry_after is not None:
            delay = max(delay, attempt.retry_after)
        return delay
