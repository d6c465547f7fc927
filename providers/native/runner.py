"""Running one line: grant an attempt, pace, send, retry what is retryable, record the outcome once."""

from __future__ import annotations

import random
from typing import NamedTuple

from providers.config import ProviderSettings
from providers.native.ledger import Done, Ledger
from providers.native.limits import AdaptiveLimit, RateLimiter, UpstreamGate
from providers.native.lines import ChunkLine, error_envelope, failure_line, response_line
from providers.native.transport import Attempt, Delivered, Undelivered, Upstream
from providers.native.tuning import NativeTuning

__all__ = ["LineRunner", "Retry", "exhausted_line", "outcome_line"]

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


class Retry(NamedTuple):
    delay: float  # seconds of backoff before the next attempt
    last: Attempt  # reported if the next grant finds the attempts used up


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
        self._paced = limiter.enabled  # fixed by the settings
        self._tpm_key = limiter.tpm_key

    async def step(self, batch_id: str, endpoint: str, line: ChunkLine, granted: int, done: Done) -> Retry | None:
        """Send `line` under attempt number `granted` (already counted by RESERVE). Returns when to try
        again (the caller's business, so a line in backoff holds no worker), or None once the line needs
        nothing more: then `done` is told when its outcome is in Redis."""
        limit = self._limit
        await limit.acquire()
        try:
            if self._paced or self.gate.engaged:  # kept off the hot path (one coroutine frame less)
                await self._pace(line.tokens)
            attempt = await self._upstream.send(endpoint, bytes(line.body))
            if type(attempt) is Delivered and attempt.status < 300 and attempt.json_ok and self._tpm_key is None:
                limit.on_success()  # _observe's whole work for a good answer when TPM is off (the common case)
            elif type(attempt) is Delivered:
                self._observe(attempt, line.tokens)
        finally:
            limit.release()
        if not _retryable(attempt) or granted >= self._max_attempts:
            text, ok = outcome_line(line.custom_id, attempt)
            self._ledger.record(batch_id, line.custom_id, text, ok=ok, done=done)
            return None
        await self._ledger.release(batch_id)
        return Retry(self._backoff(granted, attempt), attempt)

    async def _pace(self, tokens: int) -> None:
        await self.gate.wait()
        await self._limiter.acquire(tokens)  # at once when RPM/TPM are off
        await self.gate.wait()  # a 429 may have arrived while this line waited for its rate slot

    def _observe(self, attempt: Delivered, estimate: int) -> None:
        if attempt.status == 429 or attempt.status == 503:
            self._limit.on_overload()
        elif attempt.status < 300:
            self._limit.on_success()
        if attempt.retry_after is not None and attempt.retryable:
            self.gate.push(attempt.retry_after)
        tpm_key = self._tpm_key
        if tpm_key is not None and attempt.total_tokens and attempt.total_tokens != estimate:
            # Queued with the next bookkeeping round trip; the line does not wait for it.
            self._ledger.correct_tokens(tpm_key, self._limiter.correction(attempt.total_tokens, estimate))

    def _backoff(self, granted: int, attempt: Attempt) -> float:
        base: float = min(self._tuning.backoff_cap_seconds, self._tuning.backoff_base_seconds * 2 ** (granted - 1))
        delay = base * random.uniform(0.5, 1.0)
        if isinstance(attempt, Delivered) and attempt.retry_after is not None:
            delay = max(delay, attempt.retry_after)
        return delay
