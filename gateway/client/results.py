"""The end of a batch for the user: its result files on disk, and what happened, as an exit code."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gateway.client.api import Api
from gateway.client.errors import ExitCode
from gateway.client.follow import follow_interruptibly
from gateway.client.progress import transfer
from gateway.client.wire import BatchView

__all__ = ["collect", "download_results", "report"]


def download_results(api: Api, batch: BatchView, output: Path, errors: Path, console: Console) -> None:
    """Stream the output and error files (each only if the batch has one) to `output` and `errors`."""
    for label, file_id, dest in (("output", batch.output_file_id, output), ("errors", batch.error_file_id, errors)):
        if file_id is None:
            console.print(f"{label}: none (the batch has no {label} file)")
            continue
        with transfer(console, f"{label} → {dest}") as bar:
            size = api.download(file_id, dest, on_start=bar.start, on_progress=bar.advance)
        console.print(f"{label}: {escape(str(dest))} ({size} bytes)")


def report(batch: BatchView, console: Console) -> ExitCode:
    """Say how the batch ended; 0 only when it completed (some of its requests may still have failed)."""
    counts = batch.counts
    tally = f"{counts.completed} completed, {counts.failed} failed of {counts.total}"
    if batch.status == "completed":
        console.print(f"{batch.id} completed: {tally}")
        return ExitCode.OK
    console.print(f"{batch.id} {batch.status}: {tally}", style="bold red")
    for error in batch.error_list:
        console.print(escape(error.describe()), highlight=False)
    return ExitCode.BATCH_NOT_COMPLETED


def collect(
    api: Api, batch_id: str, *, output: Path, errors: Path, interval: float, console: Console, interactive: bool
) -> ExitCode:
    """Follow the batch to its end, download its files, say how it went: `submit --wait`, `batches wait`."""
    final = follow_interruptibly(api, batch_id, interval=interval, console=console, interactive=interactive)
    if final is None:
        return ExitCode.STOPPED_FOLLOWING
    download_results(api, final, output, errors, console)
    return report(final, console)
