"""One upstream's HTTP calls: retries with backoff and `Retry-After`, a rate bound, and errors translated.

Every call raises `ProviderError`: retryable for load, outages, timeouts and connection errors once the
attempts inside the call are used up; non-retryable for auth failures and other 4xx answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable
from typing import Any

import httpx
import msgspec
import structlog

from providers.base import ProviderError, UpstreamObserver, UpstreamOutcome, outcome_of_status
from providers.openai_batch.auth import HostBearer
from providers.openai_batch.limiter import RateLimiter
from providers.openai_batch.refusal import refuses_route
from providers.openai_batch.settings import OpenAIBatchSettings
from providers.retry import RetryPolicy, backoff_seconds, is_retryable_status, retry_after_seconds

__all__ = ["TIMEOUT_CALL", "Upstream"]

# Metadata calls are small: 30 s at most. Transfers of 200 MB files get the provider's request timeout
# (default 600 s) between chunks. A shorter `request_timeout_seconds` shortens both.
TIMEOUT_CALL = httpx.Timeout(30.0, connect=10.0)

Content = Callable[[], AsyncIterable[bytes]] | bytes | None
_log = structlog.get_logger(__name__)
# The paths every batch API has (list and create): a 404 there means no batch API, not a missing object.
_BATCH_API_PATHS = frozenset({"/files", "/batches"})


class _ErrorBody(msgspec.Struct):
    message: str = ""


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | str | None = None


_error_decoder = msgspec.json.Decoder(_ErrorEnvelope)


class Upstream:
    def __init__(
        self,
        name: str,
        settings: OpenAIBatchSettings,
        api_key: str | None,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        observe: UpstreamObserver | None = None,
    ) -> None:
        self.name, self.settings, self.policy = name, settings, policy
        self._observe = observe
        self._client = client
        self._base = settings.base_url.rstrip("/")
        self._auth = HostBearer(api_key, settings.base_url) if api_key else None
        self._scrub = api_key or None
        self._limiter = RateLimiter(settings.requests_per_minute)
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        limit = settings.request_timeout_seconds
        self.call_timeout = httpx.Timeout(min(30.0, limit), connect=min(10.0, limit))
        self.transfer_timeout = httpx.Timeout(limit, connect=min(10.0, limit))

    @property
    def has_key(self) -> bool:
        return self._auth is not None

    def auth_error(self, detail: str) -> ProviderError:
        env = self.settings.api_key_env or "its API key variable"
        message = f"provider {self.name!r}: {detail}; check the environment variable {env}"
        return ProviderError(message, retryable=False, code="provider_auth_failed")

    async def call(
        self, method: str, path: str, *, transfer: bool = False, content: Content = None,
        stream: bool = False, attempts: int | None = None, **kwargs: Any,
    ) -> httpx.Response:  # fmt: skip
        """Send with retries; a `stream=True` response is returned unread (the caller closes it)."""
        if self._auth is None:
            raise self.auth_error("no API key is configured")
        limit = attempts or self.policy.attempts
        for attempt in range(1, limit + 1):
            body = content() if callable(content) else content
            request = self._client.build_request(
                method,
                self._base + path,
                timeout=self.transfer_timeout if transfer else self.call_timeout,
                content=body,
                **kwargs,
            )
            try:
                await self._limiter.acquire()
                async with self._slots:
                    started = time.perf_counter()
                    response = await self._client.send(request, auth=self._auth, stream=stream)
            except httpx.TransportError as exc:  # timeouts, refused and reset connections
                timed_out = isinstance(exc, httpx.TimeoutException)
                self._record("timeout" if timed_out else "connection_error", started)
                problem, delay = type(exc).__name__, backoff_seconds(self.policy, attempt)
            else:
                self._record(outcome_of_status(response.status_code), started)
                if response.status_code < 400:
                    return response
                problem, delay = await self._classify(response, attempt, batch_api_path=path in _BATCH_API_PATHS)
            if attempt == limit:
                break
            _log.info("upstream_retry", provider=self.name, path=path, problem=problem, delay=round(delay, 3))
            await asyncio.sleep(delay)
        raise ProviderError(f"provider {self.name!r}: {method} {path} failed: {problem}", retryable=True)

    def _record(self, outcome: UpstreamOutcome, started: float) -> None:
        if self._observe is not None:
            self._observe(self.name, outcome, time.perf_counter() - started)

    async def _classify(self, response: httpx.Response, attempt: int, *, batch_api_path: bool) -> tuple[str, float]:
        """(problem, delay) for a retryable answer; raises for the others."""
        await response.aread()
        await response.aclose()
        status = response.status_code
        if status in (401, 403):
            raise self.auth_error(f"the upstream rejected the API key (HTTP {status})")
        if not is_retryable_status(status):
            detail = self._message(response.content)
            raise ProviderError(
                f"provider {self.name!r}: HTTP {status}: {detail}",
                retryable=False,
                code="provider_rejected",
                unserved=refuses_route(status, detail, batch_api_path=batch_api_path),
            )
        asked = retry_after_seconds(response.headers, self.policy.max_retry_after)
        return f"HTTP {status}", asked if asked is not None else backoff_seconds(self.policy, attempt)

    def _message(self, body: bytes) -> str:
        try:
            error = _error_decoder.decode(body).error
        except msgspec.DecodeError:
            return "(no error message)"
        text = error.message if isinstance(error, _ErrorBody) else (error or "(no error message)")
        # An upstream may echo what it was sent; a key never leaves through our messages.
        return text.replace(self._scrub, "<redacted>")[:500] if self._scrub else text[:500]
