"""`batchgate submit FILE --endpoint E [--wait] ...`: validate locally, upload, create, follow, download.

Speaks only the public OpenAI API, so it works against OpenAI, DeepSeek and DeepInfra as well as
batchgate. Validation runs first with the server's own engine (without the model-route check: the
client has no server config), and nothing is uploaded when it finds a problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from gateway.client.api import Api
from gateway.client.errors import ExitCode, UsageProblem
from gateway.client.options import api_options, stderr_console
from gateway.client.progress import transfer
from gateway.client.results import collect
from gateway.validation import validate_file
from gateway.validation.endpoints import ALL_ENDPOINTS

__all__ = ["parse_metadata", "submit_command"]

_PATH = click.Path(dir_okay=False, path_type=Path)


def parse_metadata(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """`k=v` options as the batch's metadata (the server enforces OpenAI's 16-pair and length limits)."""
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageProblem(f"--metadata expects KEY=VALUE, got {pair!r}")
        metadata[key] = value
    return metadata or None


def _validate(file: Path, endpoint: str, console: Console) -> None:
    try:
        report = validate_file(file, endpoint)
    except OSError as exc:
        raise UsageProblem(f"cannot read {str(file)!r}: {exc.strerror or exc}") from None
    if report.valid:
        console.print(f"valid: {report.requests} requests for model {report.model!r}")
        return
    for error in report.errors:
        where = "file" if error.line is None else f"line {error.line}"
        click.echo(f"{where}: {error.code}: {error.message}", err=True)
    shown = f" (the first {len(report.errors)} shown)" if report.error_count > len(report.errors) else ""
    click.echo(f"invalid: {report.error_count} errors in {file}{shown}; nothing was uploaded", err=True)
    click.get_current_context().exit(ExitCode.USAGE)


def _upload(api: Api, file: Path, console: Console) -> str:
    size = file.stat().st_size
    with transfer(console, f"upload {escape(file.name)}", total=size) as bar:
        uploaded = api.upload(file, "batch", on_progress=bar.advance).value
    console.print(f"uploaded {uploaded.id} ({size} bytes)")
    return uploaded.id


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--endpoint", required=True, type=click.Choice(ALL_ENDPOINTS), help="The batch's endpoint.")
@click.option("--wait", is_flag=True, help="Follow the batch to its end, then download its results.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: <FILE stem>.output.jsonl beside FILE."
)
@click.option(
    "--errors", type=click.Path(dir_okay=False, path_type=Path), help="Default: <FILE stem>.errors.jsonl beside FILE."
)
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Batch metadata; repeat for more pairs.")
@api_options
@click.option("--poll-interval", type=click.FloatRange(min=0.01), default=5.0, show_default=True, help="Seconds.")
def submit_command(
    file: Path,
    endpoint: str,
    wait: bool,
    output: Path | None,
    errors: Path | None,
    metadata: tuple[str, ...],
    base_url: str,
    api_key: str,
    poll_interval: float,
) -> None:
    """Validate FILE, upload it, create a batch and print its id; with --wait, follow it and download results.

    Exit codes: 0 completed, 1 failed/expired/cancelled, 2 usage or validation errors, 3 connection or
    authentication problems, 130 stopped following after Ctrl-C (the batch keeps running).
    """
    console = stderr_console()
    pairs = parse_metadata(metadata)
    _validate(file, endpoint, console)
    with Api(base_url, api_key) as api:
        file_id = _upload(api, file, console)
        batch = api.create_batch(file_id, endpoint, pairs).value
        click.echo(batch.id)
        if not wait:
            console.print(f"follow it with: batchgate batches wait {batch.id}")
            return
        code = collect(
            api,
            batch.id,
            output=output or file.with_name(f"{file.stem}.output.jsonl"),
            errors=errors or file.with_name(f"{file.stem}.errors.jsonl"),
            interval=poll_interval,
            console=console,
            interactive=sys.stdin.isatty(),
        )
    click.get_current_context().exit(code)
