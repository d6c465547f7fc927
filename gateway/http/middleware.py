"""Request ids and one access-log line per request, as plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.ids import new_request_id

__all__ = ["HttpObserver", "RequestContextMiddleware"]

log = structlog.get_logger("batchgate.http")


HttpObserver = Callable[[str, str, int, float], None]


class RequestContextMiddleware:
    """Give every request an id, echo it as `x-request-id` on every response, log and time it once.

    `observe(method, route_template, status, seconds)` receives each request's duration; the route is
    the matched template (`/v1/batches/{batch_id}`), never the raw path, so metric labels stay bounded.
    """

    def __init__(self, app: ASGIApp, observe: HttpObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                method = scope.get("method", "")
                log.info(
                    "request", method=method, path=scope["path"], status=status, duration_ms=round(seconds * 1000, 2)
                )
                if self.observe is not None:
                    route = str(scope.get("path_template") or "unmatched")
                    self.observe(method, route, status, seconds)
