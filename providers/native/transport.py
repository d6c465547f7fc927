"""Sending one request to the real-time upstream and classifying what came back.

Client choice: aiohttp directly. encode/httpx#3215 reports stock httpx's pool degrading at high
concurrency; `tests/benchmarks/test_native_bench.py` measures raw request loops at concurrency 64 against
the zero-latency simulator in its own process. Two runs on a shared, loaded 2-core box: stock httpx
0.09x-0.22x of raw aiohttp; httpx + `httpx-aiohttp` 0.30x-2.26x (too noisy to rank against aiohttp).
Stock httpx is clearly out; aiohttp directly is the fewest layers per request on this hot path. One
session per upstream, pooled keep-alive connections sized by `max_concurrency`.

The API key goes only into the Authorization header of upstream requests; it is never logged and never
part of an error message (messages name the failure kind, not the request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import msgspec
import yarl

from providers.retry import is_retryable_status, retry_after_seconds

__all__ = ["Attempt", "Delivered", "Undelivered", "Upstream", "join_url"]

# OpenAI-style rate-limit headers: "0" left means the quota itself is spent, for every line of the provider.
_REMAINING = ("x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens")


class Delivered(msgspec.Struct, frozen=True, tag="delivered", gc=False):  # no cycles possible (see lines.py)
    """The upstream answered with a status and a body."""

    status: int
    request_id: str | None
    body: bytes
    retry_after: float | None  # seconds, from Retry-After / retry-after-ms, capped by the provider's setting
    json_ok: bool  # the body is a JSON object (a 2xx without one is malformed)
    total_tokens: int
    quota_spent: bool = False  # the rate-limit headers say no request or token is left for anyone

    @property
    def retryable(self) -> bool:
        return is_retryable_status(self.status) or (self.status < 300 and not self.json_ok)


class Undelivered(msgspec.Struct, frozen=True, tag="undelivered", gc=False):
    """No HTTP answer: a timeout or a connection error. Always retryable."""

    code: str
    message: str


Attempt = Delivered | Undelivered


class _Usage(msgspec.Struct, gc=False):
    total_tokens: int = 0


class _BodyView(msgspec.Struct, gc=False):
    usage: _Usage | None = None


_body_decoder = msgspec.json.Decoder(_BodyView)


def join_url(base_url: str, endpoint: str) -> str:
    """`https://h/v1` + `/v1/chat/completions` -> `https://h/v1/chat/completions` (no doubled /v1)."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and endpoint.startswith("/v1/"):
        return base + endpoint[3:]
    return base + endpoint


def _quota_spent(headers: Mapping[str, str]) -> bool:
    return any(headers.get(name, "").strip() == "0" for name in _REMAINING)


def _inspect(body: bytes) -> tuple[bool, int]:
    try:
        view = _body_decoder.decode(body)
    except msgspec.DecodeError:
        return False, 0
    return True, view.usage.total_tokens if view.usage is not None else 0


class Upstream:
    """One long-lived aiohttp session for one upstream; created on first use (it needs a running loop)."""

    def __init__(
        self, base_url: str, api_key: str | None, max_connections: int, timeout_seconds: float, max_wait: float
    ) -> None:
        self._base_url = base_url
        self._max_wait = max_wait  # the longest Retry-After honoured
        self._headers = {"Content-Type": "application/json"}
        self._secret = api_key.encode() if api_key else None
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, yarl.URL] = {}  # per endpoint, parsed once rather than per request

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, keepalive_timeout=30)
            # No cookie jar: nothing an upstream sets may travel from one tenant's request to another's.
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    def _url(self, endpoint: str) -> yarl.URL:
        if (url := self._urls.get(endpoint)) is None:
            url = self._urls[endpoint] = yarl.URL(join_url(self._base_url, endpoint))
        return url

    async def send(self, endpoint: str, body: bytes) -> Attempt:
        try:
            async with self._client().post(self._url(endpoint), data=body, headers=self._headers) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
                if status >= 300 and self._secret and self._secret in raw:
                    # An upstream may echo the key it was sent; error bodies go into the tenant's error file.
                    raw = raw.replace(self._secret, b"<redacted>")
                json_ok, tokens = _inspect(raw)
                request_id = headers.get("x-request-id")
                if json_ok and status < 300:  # the common case skips the lookups that matter only for a retry
                    return Delivered(status, request_id, raw, None, json_ok, tokens)
                wait = retry_after_seconds(headers, self._max_wait)
                return Delivered(status, request_id, raw, wait, json_ok, tokens, _quota_spent(headers))
        except TimeoutError:
            return Undelivered("request_timeout", "The upstream did not answer within the request timeout.")
        except aiohttp.ClientError as exc:
            return Undelivered("request_failed", f"Could not reach the upstream ({type(exc).__name__}).")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)  # let the connector close its transports
