"""Bearer auth that only ever goes to the configured upstream's origin, and never shows the key."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["HostBearer"]


class HostBearer(httpx.Auth):
    """Adds `Authorization` only to requests for `base_url`'s scheme, host and port (a redirect or a stray
    absolute URL elsewhere gets no key)."""

    __slots__ = ("_header", "_origin")

    def __init__(self, api_key: str, base_url: str) -> None:
        url = httpx.URL(base_url)
        self._origin = (url.scheme, url.host, url.port)
        self._header = f"Bearer {api_key}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if (request.url.scheme, request.url.host, request.url.port) == self._origin:
            request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "HostBearer(<redacted>)"
