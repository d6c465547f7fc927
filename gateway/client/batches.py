"""`batchgate batches list|show|cancel|download|wait`: batches through the public API."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.client.api import Api
from gateway.client.options import api_options, json_option, stderr_console
from gateway.client.output import batch_detail, batches_table, emit
from gateway.client.results import collect, download_results

__all__ = ["batches_group"]

_OUTPUT = click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: <id>.output.jsonl")
_ERRORS = click.option("--errors", type=click.Path(dir_okay=False, path_type=Path), help="Default: <id>.errors.jsonl")


@click.group("batches")
def batches_group() -> None:
    """List, inspect, cancel, follow and download batches."""


@batches_group.command("list")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--after", help="A batch id: list the batches created before it (the next page).")
@json_option
@api_options
def list_batches(limit: int, after: str | None, as_json: bool, base_url: str, api_key: str) -> None:
    """List batches, newest first."""
    with Api(base_url, api_key) as api:
        page = api.batches(limit=limit, after=after)
    emit(page, as_json, lambda page: batches_table(page.data))


@batches_group.command("show")
@click.argument("batch_id")
@json_option
@api_options
def show_batch(batch_id: str, as_json: bool, base_url: str, api_key: str) -> None:
    """Show one batch."""
    with Api(base_url, api_key) as api:
        reply = api.batch(batch_id)
    emit(reply, as_json, batch_detail)


@batches_group.command("cancel")
@click.argument("batch_id")
@json_option
@api_options
def cancel_batch(batch_id: str, as_json: bool, base_url: str, api_key: str) -> None:
    """Ask the server to cancel a batch; finished results are kept."""
    with Api(base_url, api_key) as api:
        reply = api.cancel(batch_id)
    emit(reply, as_json, batch_detail)


@batches_group.command("download")
@click.argument("batch_id")
@_OUTPUT
@_ERRORS
@api_options
def download_batch(batch_id: str, output: Path | None, errors: Path | None, base_url: str, api_key: str) -> None:
    """Download a batch's output and error files (those it has)."""
    console = stderr_console()
    with Api(base_url, api_key) as api:
        batch = api.batch(batch_id).value
        output, errors = output or Path(f"{batch_id}.output.jsonl"), errors or Path(f"{batch_id}.errors.jsonl")
        download_results(api, batch, output, errors, console)


@batches_group.command("wait")
@click.argument("batch_id")
@_OUTPUT
@_ERRORS
@api_options
@click.option("--poll-interval", type=click.FloatRange(min=0.01), default=5.0, show_default=True, help="Seconds.")
def wait_batch(
    batch_id: str, output: Path | None, errors: Path | None, base_url: str, api_key: str, poll_interval: float
) -> None:
    """Follow a batch to its end, then download its files; exit codes as for `submit --wait`."""
    console = stderr_console()
    with Api(base_url, api_key) as api:
        code = collect(
            api,
            batch_id,
            output=output or Path(f"{batch_id}.output.jsonl"),
            errors=errors or Path(f"{batch_id}.errors.jsonl"),
            interval=poll_interval,
            console=console,
            interactive=sys.stdin.isatty(),
        )
    click.get_current_context().exit(code)
