"""A webhook receiver on a loopback port: records every delivery (headers and raw body) and answers with a
scripted status — the first `fail_first` attempts of each `webhook-id` get 500, later ones 200."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from tests.support.ports import free_port
from tests.support.threaded_server import ThreadedServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float


class WebhookReceiver:
    def __init__(self, *, fail_first: int = 0, port: int | None = None) -> None:
        self.fail_first = fail_first
        self.port = port or free_port()
        self.received: list[Received] = []
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadedServer(self._app, self.port, "webhook-receiver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks", self._receive)
        app.router.add_post("/redirect", self._redirect)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            webhook_id = request.headers.get("webhook-id", "")
            self._attempts[webhook_id] += 1
            status = 500 if self._attempts[webhook_id] <= self.fail_first else 200
            self.received.append(Received(dict(request.headers), body, status, time.time()))
        return web.Response(status=status)

    async def _redirect(self, request: web.Request) -> web.Response:
        await request.read()
        raise web.HTTPFound(location="/hooks")

    def delivered(self) -> list[Received]:
        """The deliveries answered 2xx."""
        with self._lock:
            return [r for r in self.received if r.status == 200]

    def wait_delivered(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            delivered = self.delivered()
            if len(delivered) >= count:
                return delivered
            time.sleep(0.05)
        raise AssertionError(f"{len(self.delivered())} deliveries answered 2xx, wanted {count}: {self.received}")

    def __enter__(self) -> WebhookReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
