"""A fault-injecting HTTP proxy in front of a batch upstream simulator: real HTTP on loopback.

The simulator's own `Fault`s answer errors, hangs and 5xx-after-commit; what it cannot do is break the
connection itself. The proxy forwards every request and, for the next queued fault whose path matches,
instead resets the connection before answering (`reset`), answers 200 with a body that is not JSON
(`malformed`), or sends the real headers with the full Content-Length and then only half of the body
before closing (`truncate`, aimed at result-file downloads).
"""

from __future__ import annotations

import re
import threading
from typing import Literal

import httpx
from aiohttp import web

from tests.support.ports import free_port
from tests.support.threaded_server import ThreadedServer

__all__ = ["FaultProxy", "ProxyFault"]

ProxyFault = Literal["reset", "malformed", "truncate"]
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-encoding"})


class FaultProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")  # e.g. http://127.0.0.1:1234 (no /v1)
        self.port = free_port()
        self.injected: list[tuple[ProxyFault, str]] = []
        self._pending: list[tuple[ProxyFault, re.Pattern[str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadedServer(self._app, self.port, "fault proxy")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, fault: ProxyFault, path_pattern: str) -> None:
        with self._lock:
            self._pending.append((fault, re.compile(path_pattern)))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def _take(self, method_path: str) -> ProxyFault | None:
        with self._lock:
            for item in self._pending:
                if item[1].search(method_path):
                    self._pending.remove(item)
                    self.injected.append((item[0], method_path))
                    return item[0]
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._take(f"{request.method} {request.path}")
        if fault == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=499)  # never reaches the client
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with httpx.AsyncClient(timeout=60) as client:
            upstream = await client.request(
                request.method, self.target + request.path_qs, content=body, headers=headers
            )
        if fault == "malformed":
            return web.Response(status=200, text='{"object": "batch", "id": ', content_type="application/json")
        reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
        if fault == "truncate" and len(upstream.content) > 1:
            response = web.StreamResponse(status=upstream.status_code, headers=reply_headers)
            response.content_length = len(upstream.content)
            await response.prepare(request)
            await response.write(upstream.content[: len(upstream.content) // 2])
            assert request.transport is not None
            request.transport.abort()
            return response
        return web.Response(status=upstream.status_code, body=upstream.content, headers=reply_headers)

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def start(self) -> FaultProxy:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
