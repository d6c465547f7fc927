"""The gateway served over real loopback HTTP from a background thread (uvicorn), for end-to-end tests."""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn

from gateway.config.settings import Settings
from gateway.core.clock import Clock, system_clock
from gateway.http.app import create_app
from gateway.worker.providers import ProviderSet
from tests.support.ports import free_port


class GatewayServer:
    def __init__(
        self,
        settings: Settings,
        *,
        run_worker: bool = False,
        providers: ProviderSet | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.port = free_port()
        self.settings = settings
        self.app = app = create_app(settings, run_worker=run_worker, providers=providers, clock=clock)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"gateway-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
