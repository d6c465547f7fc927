"""Dev mode's Host check: with no tenants any bearer key is an admin, so only loopback names may reach the API.

Binding to loopback keeps other machines out, but not a browser on this one: a page on a rebinding domain
(`evil.example` resolving to 127.0.0.1) sends requests whose Host header is its own name. Refusing every Host
but `localhost`, `127.0.0.1` and `[::1]` (any port) closes that door; a misdirected request answers 421.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from gateway.core.errors import MisdirectedRequest

__all__ = ["LOOPBACK_HOSTS", "LoopbackHostGuard", "host_name"]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_name(host: str) -> str:
    """`Host` without its port, lowercased (`[::1]:8000` → `[::1]`, `LocalHost:80` → `localhost`)."""
    name, colon, port = host.strip().lower().rpartition(":")
    if colon and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name
    return host.strip().lower()


class LoopbackHostGuard:
    """Answer 421 in OpenAI's envelope to any HTTP request whose Host is not a loopback name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or _allowed(scope):
            await self.app(scope, receive, send)
            return
        error = MisdirectedRequest(
            "batchgate runs without tenants (dev mode) and answers only requests addressed to localhost, "
            "127.0.0.1 or [::1]; configure [[tenants]] to serve other names.",
            param="host",
        )
        body = msgspec.json.encode(error.envelope())
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": error.status_code, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _allowed(scope: Scope) -> bool:
    hosts = [value for key, value in scope["headers"] if key == b"host"]
    if len(hosts) != 1:  # none (HTTP/1.0) or several: nothing says the request was meant for loopback
        return False
    return host_name(hosts[0].decode("latin-1")) in LOOPBACK_HOSTS
