"""`create_app(settings)`: the Litestar application. Building it does no I/O; the lifespan opens clients."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from accounting.metrics import StatusGaugeCollector, StatusSnapshot
from gateway.config.settings import Settings
from gateway.core.clock import Clock, system_clock
from gateway.http.accounting import AccountingController
from gateway.http.batches import BatchesController
from gateway.http.deps import principal_dependency, services_dependency
from gateway.http.errors import exception_handlers
from gateway.http.files import FilesController
from gateway.http.health import healthz, metrics, readyz
from gateway.http.host_guard import LoopbackHostGuard
from gateway.http.middleware import RequestContextMiddleware
from gateway.http.openapi import BEARER_COMPONENTS, BEARER_SECURITY
from gateway.http.webhooks import WebhookEndpointsController, webhook_event_types
from gateway.ops.gauges import (
    BUDGET_REFRESH_SECONDS,
    STATUS_REFRESH_SECONDS,
    refresh_every,
    update_budget_gauges,
    update_deferred_lines,
    update_oldest_ages,
    update_status_counts,
)
from gateway.redis.policy import check_eviction_policy
from gateway.services import Services, open_services
from gateway.worker.process import run_worker as run_worker_loop
from gateway.worker.providers import ProviderSet

__all__ = ["create_app"]

log = structlog.get_logger("batchgate.app")


def create_app(
    settings: Settings,
    *,
    run_worker: bool = False,
    providers: ProviderSet | None = None,
    clock: Clock = system_clock,
) -> Litestar:
    """The API; with `run_worker`, a worker runs in the same process (`providers` lets tests inject their own,
    `clock` moves the business time: creation, expiry, price windows)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = open_services(settings, clock=clock)
        app.state.services = services
        await check_eviction_policy(services.redis)
        removed = await services.storage.sweep_partials()  # leftovers of uploads whose process died
        if removed:
            log.info("partial_uploads_removed", count=removed)
        stop = asyncio.Event()
        snapshot = StatusSnapshot()
        services.registry.register(StatusGaugeCollector(snapshot))
        refreshes = [
            (
                STATUS_REFRESH_SECONDS,
                functools.partial(update_status_counts, services, snapshot),
                "status_counts_failed",
            ),
            (STATUS_REFRESH_SECONDS, functools.partial(update_oldest_ages, services), "oldest_ages_failed"),
            (BUDGET_REFRESH_SECONDS, functools.partial(update_budget_gauges, services), "budget_gauges_failed"),
            (STATUS_REFRESH_SECONDS, functools.partial(update_deferred_lines, services), "deferred_lines_failed"),
        ]
        tasks = [
            asyncio.create_task(refresh_every(seconds, stop, update, failed)) for seconds, update, failed in refreshes
        ]
        if run_worker:
            worker = asyncio.create_task(run_worker_loop(services, stop, providers=providers), name="worker")
            worker.add_done_callback(functools.partial(_on_worker_exit, app, stop))
            tasks.append(worker)
        try:
            yield
        finally:
            services.draining = True
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.aclose()

    def observe_http(method: str, route: str, status: int, seconds: float) -> None:
        services: Services | None = getattr(app.state, "services", None)
        if services is not None:
            services.metrics.observe_http(method, route, status, seconds)

    app = Litestar(
        route_handlers=[
            FilesController,
            BatchesController,
            AccountingController,
            WebhookEndpointsController,
            webhook_event_types,
            healthz,
            readyz,
            metrics,
        ],
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
            components=BEARER_COMPONENTS,
            security=BEARER_SECURITY,
        ),
        on_app_init=[_no_default_logging],
        debug=False,
    )
    # Wrap the whole ASGI handler, not each route, so router-level 404/405 answers carry a request id too.
    handler = app.asgi_handler if settings.tenants else LoopbackHostGuard(app.asgi_handler)  # dev mode: see there
    app.asgi_handler = RequestContextMiddleware(handler, observe_http)
    return app


def _on_worker_exit(app: Litestar, stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """The embedded worker ended before shutdown: stop the whole process (exit 1, see cli.serve), so a
    supervisor restarts it, rather than serve an API whose batches no longer move."""
    if stop.is_set():
        return
    error = None if task.cancelled() else task.exception()
    log.error("worker_died", error=f"{type(error).__name__}: {error}"[:500] if error else "it returned")
    app.state.worker_died = True
    os.kill(os.getpid(), signal.SIGTERM)


def _no_default_logging(config: AppConfig) -> AppConfig:
    # structlog, configured at the entry point, is our one logger; Litestar's would log errors twice.
    config.logging_config = None
    return config
