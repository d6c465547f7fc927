"""Run the simulator on a free loopback port in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from tests.support.batch_upstream.app import Recorder, build_app
from tests.support.batch_upstream.faults import Fault, Faults
from tests.support.batch_upstream.options import SimOptions
from tests.support.batch_upstream.store import Store
from tests.support.ports import free_port

__all__ = ["BatchUpstream"]


class BatchUpstream:
    """A simulated DeepSeek/DeepInfra batch API. Tests read `store`/`recorder` and add faults directly."""

    def __init__(self, options: SimOptions | None = None, port: int | None = None) -> None:
        self.store = Store(options or SimOptions())
        self.faults = Faults()
        self.recorder = Recorder()
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def options(self) -> SimOptions:
        return self.store.options

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="batch-upstream", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the batch upstream simulator did not start")

    def _serve(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_site())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._stop_site())
        self._loop.close()

    async def _start_site(self) -> None:
        self._runner = web.AppRunner(build_app(self.store, self.faults, self.recorder), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop_site(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None
