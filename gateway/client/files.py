"""`batchgate files list|show|delete|download`: files through the public API."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from gateway.client.api import Api
from gateway.client.options import api_options, json_option, stderr_console
from gateway.client.output import emit, file_detail, files_table
from gateway.client.progress import transfer

__all__ = ["files_group"]


@click.group("files")
def files_group() -> None:
    """List, inspect, delete and download files."""


@files_group.command("list")
@click.option("--purpose", help="Only files with this purpose (batch, batch_output, ...).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--after", help="A file id: list the files after it (the next page).")
@json_option
@api_options
def list_files(purpose: str | None, limit: int, after: str | None, as_json: bool, base_url: str, api_key: str) -> None:
    """List files, newest first."""
    with Api(base_url, api_key) as api:
        page = api.files(limit=limit, after=after, purpose=purpose)
    emit(page, as_json, lambda page: files_table(page.data))


@files_group.command("show")
@click.argument("file_id")
@json_option
@api_options
def show_file(file_id: str, as_json: bool, base_url: str, api_key: str) -> None:
    """Show one file's metadata."""
    with Api(base_url, api_key) as api:
        reply = api.file(file_id)
    emit(reply, as_json, file_detail)


@files_group.command("delete")
@click.argument("file_id")
@json_option
@api_options
def delete_file(file_id: str, as_json: bool, base_url: str, api_key: str) -> None:
    """Delete a file."""
    with Api(base_url, api_key) as api:
        reply = api.delete_file(file_id)
    emit(reply, as_json, lambda deleted: f"deleted {deleted.id}")


def _default_name(filename: str, file_id: str) -> Path:
    # Only the last component of the server's name: a name like "../x" must not write outside the cwd.
    name = Path(filename).name
    return Path(name if name not in ("", ".", "..") else file_id)


@files_group.command("download")
@click.argument("file_id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: the file's name.")
@api_options
def download_file(file_id: str, output: Path | None, base_url: str, api_key: str) -> None:
    """Download a file's content (streamed to disk)."""
    console = stderr_console()
    with Api(base_url, api_key) as api:
        dest = output or _default_name(api.file(file_id).value.filename, file_id)
        with transfer(console, f"download → {escape(str(dest))}") as bar:
            size = api.download(file_id, dest, on_start=bar.start, on_progress=bar.advance)
    console.print(f"{escape(str(dest))} ({size} bytes)")
