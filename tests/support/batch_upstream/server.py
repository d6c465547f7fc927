"""Run the simulator on a free loopback port in a background thread with its own event loop."""

from __future__ import annotations

from tests.support.batch_upstream.app import Recorder, build_app
from tests.support.batch_upstream.faults import Fault, Faults
from tests.support.batch_upstream.options import SimOptions
from tests.support.batch_upstream.store import Store
from tests.support.ports import free_port
from tests.support.threaded_server import ThreadedServer

__all__ = ["BatchUpstream"]


class BatchUpstream:
    """A simulated DeepSeek/DeepInfra batch API. Tests read `store`/`recorder` and add faults directly."""

    def __init__(self, options: SimOptions | None = None, port: int | None = None) -> None:
        self.store = Store(options or SimOptions())
        self.faults = Faults()
        self.recorder = Recorder()
        self.port = port or free_port()
        self._server = ThreadedServer(
            lambda: build_app(self.store, self.faults, self.recorder), self.port, "batch upstream simulator"
        )

    @property
    def options(self) -> SimOptions:
        return self.store.options

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
