"""The `batchgate` command: serve, worker, validate (ARCHITECTURE.md §2.1)."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
from contextlib import ExitStack
from pathlib import Path

import click
import msgspec

from gateway.cli_validate import validate_command
from gateway.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from gateway.logs import configure_logging
from gateway.runtime import run_on_fastest_loop
from gateway.settings import ConfigError, RedisSettings, Settings, load_settings

__all__ = ["main"]

CONFIG_HELP = "TOML config file (default: $BATCHGATE_CONFIG, else built-in defaults)."


@click.group()
@click.version_option(package_name="batchgate")
def main() -> None:
    """batchgate: an OpenAI-compatible batch gateway."""


def _load(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _with_redis(settings: Settings, stack: ExitStack) -> Settings:
    """Start the embedded redis-server when no `redis.url` is configured; it stops when `stack` closes."""
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
    import uvicorn

    from gateway.app import create_app
    from gateway.key_files import with_key_files

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
        uvicorn.run(app, host=server.host, port=server.port, log_config=None, access_log=False, lifespan="on")


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address of the /metrics endpoint.")
@click.option("--metrics-port", default=9464, show_default=True, type=int, help="Port of /metrics; 0 turns it off.")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def worker(config: str | None, metrics_host: str, metrics_port: int, log_level: str) -> None:
    """Run worker loops only (scale-out): any number may run against the same Redis and storage.

    Settlement happens in workers, so each serves its own Prometheus /metrics for scraping.
    """
    settings = _load(config)
    if not settings.redis.url:
        raise click.UsageError("`batchgate worker` needs a shared Redis: set redis.url in the config or REDIS_URL.")
    configure_logging(log_level)
    run_on_fastest_loop(_run_worker(settings, metrics_host, metrics_port))


async def _run_worker(settings: Settings, metrics_host: str, metrics_port: int) -> None:
    from prometheus_client import start_http_server

    from gateway.redis_policy import check_eviction_policy
    from gateway.services import open_services
    from gateway.worker.process import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    services = open_services(settings)
    await check_eviction_policy(services.redis)
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host, registry=services.registry)
    try:
        await run_worker(services, stop)
    finally:
        await services.aclose()


main.add_command(validate_command, name="validate")


# The user's side (gateway/client_cli): imported here, at the end, so this edit stays additive.
from gateway.client_cli import batches_group, files_group, submit_command  # noqa: E402

main.add_command(submit_command)
main.add_command(batches_group)
main.add_command(files_group)
