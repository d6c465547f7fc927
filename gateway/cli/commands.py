"""The `batchgate` command: serve, worker, validate and the user's commands (ARCHITECTURE.md §2.1).

Start-up time is part of the user's side: `batchgate --help`, `validate`, `submit`, `batches` and `files`
must never load the server. So this module imports only click and a little of the standard library at the
top; `serve` and `worker` import the server inside their bodies, and every other command sits in
`LAZY_COMMANDS`, imported only when it runs.
"""

from __future__ import annotations

import signal
from contextlib import ExitStack
from typing import TYPE_CHECKING

import click

from gateway.cli.lazy import Lazy, LazyGroup

if TYPE_CHECKING:
    from gateway.config.settings import Settings
    from gateway.ops.metrics_port import MetricsSocket

__all__ = ["LAZY_COMMANDS", "main"]

CONFIG_HELP = "TOML config file (default: $BATCHGATE_CONFIG, else built-in defaults)."

# Commands imported only when they run. To add a command or group: write its module, then add one line
# here naming it and the first sentence of its docstring, which `batchgate --help` lists without importing
# it (tests/unit/test_cli_startup.py checks that the two agree and that the module loads no server code).
LAZY_COMMANDS = {
    "validate": Lazy(
        "gateway.cli.validate:validate_command", "Check a batch input FILE with the very rules the server applies."
    ),
    "submit": Lazy(
        "gateway.client.submit:submit_command",
        "Validate FILE, upload it, create a batch and print its id; with --wait, follow it and download results.",
    ),
    "batches": Lazy("gateway.client.batches:batches_group", "List, inspect, cancel, follow and download batches."),
    "files": Lazy("gateway.client.files:files_group", "List, inspect, delete and download files."),
    "accounting": Lazy(
        "gateway.client.accounting:accounting_group", "What batches cost: summaries and the FOCUS billing export."
    ),
}


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="batchgate")
def main() -> None:
    """batchgate: an OpenAI-compatible batch gateway."""


def _load(config: str | None) -> Settings:
    from gateway.config.settings import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _with_redis(settings: Settings, stack: ExitStack) -> Settings:
    """Start the embedded redis-server when no `redis.url` is configured; it stops when `stack` closes."""
    from pathlib import Path

    import msgspec

    from gateway.config.settings import RedisSettings
    from gateway.redis.embedded import EmbeddedRedis, EmbeddedRedisError

    if settings.redis.url:
        return settings
    embedded = EmbeddedRedis(Path(settings.data_dir))
    try:
        embedded.start()
    except EmbeddedRedisError as exc:
        raise click.ClickException(str(exc)) from None
    stack.callback(embedded.stop)
    click.echo(f"batchgate: embedded redis-server on 127.0.0.1:{embedded.port} (data in {embedded.data_dir})", err=True)
    return msgspec.structs.replace(settings, redis=RedisSettings(url=embedded.url))


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--host", help="Address to bind (default: server.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default: server.port, 8000).")
@click.option("--no-worker", is_flag=True, help="Serve the API only; run `batchgate worker` elsewhere.")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config: str | None, host: str | None, port: int | None, no_worker: bool, log_level: str) -> None:
    """Run the HTTP API (and, unless --no-worker, a worker in the same process)."""
    import msgspec
    import uvicorn

    from gateway.config.key_files import with_key_files
    from gateway.config.settings import ConfigError
    from gateway.http.app import create_app
    from gateway.ops.logs import configure_logging

    try:
        settings = with_key_files(_load(config))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    server = msgspec.structs.replace(
        settings.server, host=host or settings.server.host, port=settings.server.port if port is None else port
    )
    settings = msgspec.structs.replace(settings, server=server)
    if not settings.tenants and not _is_loopback(server.host):
        raise click.UsageError(
            f"refusing to listen on {server.host} without tenants: with no [[tenants]] configured any key is "
            "accepted, which is only safe on a loopback address. Add tenants to the config or bind 127.0.0.1."
        )
    configure_logging(log_level)
    with ExitStack() as stack:
        settings = _with_redis(settings, stack)
        app = create_app(settings, run_worker=not no_worker)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal; our handler turns that
        # into a normal exit so the ExitStack still stops the embedded redis-server.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _exit_cleanly)
        try:
            uvicorn.run(app, host=server.host, port=server.port, log_config=None, access_log=False, lifespan="on")
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
        if getattr(app.state, "worker_died", False):  # the app stopped itself: a supervisor must restart us
            click.echo("batchgate: the embedded worker stopped (see the log); exiting with status 1", err=True)
            raise SystemExit(1)


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address of the /metrics endpoint.")
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics; 0 turns it off (default: the first free port of 9464-9473, logged at start).",
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def worker(config: str | None, metrics_host: str, metrics_port: int | None, log_level: str) -> None:
    """Run worker loops only (scale-out): any number may run against the same Redis and storage.

    Settlement happens in workers, so each serves its own Prometheus /metrics for scraping.
    """
    from gateway.ops.logs import configure_logging
    from gateway.ops.runtime import run_on_fastest_loop

    settings = _load(config)
    if not settings.redis.url:
        raise click.UsageError("`batchgate worker` needs a shared Redis: set redis.url in the config or REDIS_URL.")
    configure_logging(log_level)
    from gateway.ops.metrics_port import MetricsPortBusy, bind_metrics

    try:
        metrics = bind_metrics(metrics_host, metrics_port)
    except MetricsPortBusy as exc:
        click.echo(f"batchgate worker: {exc}", err=True)
        raise SystemExit(2) from None
    run_on_fastest_loop(_run_worker(settings, metrics))


async def _run_worker(settings: Settings, metrics: MetricsSocket | None) -> None:
    import asyncio
    import functools

    from gateway.ops.gauges import (
        BUDGET_REFRESH_SECONDS,
        STATUS_REFRESH_SECONDS,
        refresh_every,
        update_budget_gauges,
        update_deferred_lines,
    )
    from gateway.ops.metrics_port import serve_metrics
    from gateway.redis.policy import check_eviction_policy
    from gateway.services import open_services
    from gateway.worker.loop import WorkerDied
    from gateway.worker.process import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    services = open_services(settings)
    await check_eviction_policy(services.redis)
    gauges: list[asyncio.Task[None]] = []
    if metrics is not None:
        serve_metrics(metrics, services.registry)
        # The worker's port shows every series, so the budget alerts work without the API's scrape token.
        update = functools.partial(update_budget_gauges, services)
        deferred = functools.partial(update_deferred_lines, services)
        gauges = [
            asyncio.create_task(refresh_every(BUDGET_REFRESH_SECONDS, stop, update, "budget_gauges_failed")),
            asyncio.create_task(refresh_every(STATUS_REFRESH_SECONDS, stop, deferred, "deferred_lines_failed")),
        ]
    try:
        await run_worker(services, stop)
    except WorkerDied as exc:  # logged; a supervisor restarts the process
        click.echo(f"batchgate worker: {exc}; exiting with status 1", err=True)
        raise SystemExit(1) from None
    finally:
        stop.set()
        for gauge in gauges:
            await gauge
        await services.aclose()
