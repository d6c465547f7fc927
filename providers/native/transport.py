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
import email.utils
import time
from collections.abc import Mapping

import aiohttp
import msgspec
import yarl

__all__ = ["Attempt", "Delivered", "Undelivered", "Upstream", "join_url"]

RETRYABLE_STATUS = frozenset({408, 409, 429})


class Delivered(msgspec.Struct, frozen=True, tag="delivered", gc=False):  # no cycles possible (see lines.py)
    """The upstream answered with a status and a body."""

    status: int
    request_id: str | None
    body: bytes
    retry_after: float | None  # seconds, from Retry-After / retry-after-ms
    json_ok: bool  # the body is a JSON object (a 2xx without one is malformed)
    total_tokens: int

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS or self.status >= 500 or (self.status < 300 and not self.json_ok)


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


def _retry_after(headers: Mapping[str, str]) -> float | None:
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _inspect(body: bytes) -> tuple[bool, int]:
    try:
        view = _body_decoder.decode(body)
    except msgspec.DecodeError:
        return False, 0
    return True, view.usage.total_tokens if view.usage is not None else 0


class Upstream:
    """One long-lived aiohttp session for one upstream; created on first use (it needs a running loop)."""

    def __init__(self, base_url: str, api_key: str | None, max_connections: int, timeout_seconds: float) -> None:
        self._base_url = base_url
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
                # Retry-After only matters on an answer we may retry; a good 2xx skips the header lookups.
                wait = None if json_ok and status < 300 else _retry_after(headers)
                return Delivered(status, headers.get("x-request-id"), raw, wait, json_ok, tokens)
        except TimeoutError:
            return Undelivered("request_timeout", "The upstream did not answer within the request timeout.")
        except aiohttp.ClientError as exc:
            return Undelivered("request_failed", f"Could not reach the upstream ({type(exc).__name__}).")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)  # let the connector close its transports
