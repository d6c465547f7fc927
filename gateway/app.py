"""`create_app(settings)`: the Litestar application. Building it does no I/O; the lifespan opens clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from gateway.http.accounting import AccountingController
from gateway.http.batches import BatchesController
from gateway.http.deps import principal_dependency, services_dependency
from gateway.http.errors import exception_handlers
from gateway.http.files import FilesController
from gateway.http.health import healthz, metrics, readyz
from gateway.http.middleware import RequestContextMiddleware
from gateway.services import open_services
from gateway.settings import Settings
from gateway.worker.process import run_worker as run_worker_loop
from gateway.worker.providers import ProviderSet

__all__ = ["create_app"]


def create_app(settings: Settings, *, run_worker: bool = False, providers: ProviderSet | None = None) -> Litestar:
    """The API; with `run_worker`, a worker runs in the same process (`providers` lets tests inject their own)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = open_services(settings)
        app.state.services = services
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker_loop(services, stop, providers=providers)) if run_worker else None
        try:
            yield
        finally:
            services.draining = True
            stop.set()
            if worker is not None:
                await worker
            await services.aclose()

    app = Litestar(
        route_handlers=[FilesController, BatchesController, AccountingController, healthz, readyz, metrics],
        lifespan=[lifespan],
        dependencies={
            "services": Provide(services_dependency, sync_to_thread=False),
            "principal": Provide(principal_dependency, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(
            title="batchgate",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        on_app_init=[_no_default_logging],
        debug=False,
    )
    # Wrap the whole ASGI handler, not each route, so router-level 404/405 answers carry a request id too.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app


def _no_default_logging(config: AppConfig) -> AppConfig:
    # structlog, configured at the entry point, is our one logger; Litestar's would log errors twice.
    config.logging_config = None
    return config
