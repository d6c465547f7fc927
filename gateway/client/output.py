"""Tables for people and JSON for programs: how `batches` and `files` print what the server said."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.client.api import Reply
from gateway.client.wire import BatchView, FileView

__all__ = [
    "batch_detail",
    "batches_table",
    "echo_json",
    "emit",
    "file_detail",
    "files_table",
    "show",
    "timestamp",
]

T = TypeVar("T")


def echo_json(raw: bytes) -> None:
    """The body exactly as the server sent it, one document per line."""
    click.echo(raw.decode().strip())


def timestamp(unix: int | None) -> str:
    return "" if unix is None else datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _row(table: Table, *values: str) -> None:
    # Text, not str: a filename or model like "[bold]x" is data, never Rich markup.
    table.add_row(*(Text(value) for value in values))


def _counts(batch: BatchView) -> str:
    counts = batch.counts
    return f"{counts.completed}/{counts.failed}/{counts.total}"


def batches_table(batches: Iterable[BatchView]) -> Table:
    table = Table("id", "status", "endpoint", "model", "done/failed/total", "created (UTC)")
    for batch in batches:
        _row(
            table,
            batch.id,
            batch.status,
            batch.endpoint,
            batch.model or "",
            _counts(batch),
            timestamp(batch.created_at),
        )
    return table


def files_table(files: Iterable[FileView]) -> Table:
    table = Table("id", "filename", "purpose", "bytes", "created (UTC)")
    for file in files:
        size = "" if file.bytes is None else str(file.bytes)
        _row(table, file.id, file.filename, file.purpose, size, timestamp(file.created_at))
    return table


def _detail(rows: list[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None)
    for key, value in rows:
        _row(table, key, value)
    return table


def batch_detail(batch: BatchView) -> Table:
    rows = [
        ("id", batch.id),
        ("status", batch.status),
        ("endpoint", batch.endpoint),
        ("model", batch.model or ""),
        ("requests", f"{batch.counts.completed} completed, {batch.counts.failed} failed of {batch.counts.total}"),
        ("input file", batch.input_file_id or ""),
        ("output file", batch.output_file_id or ""),
        ("error file", batch.error_file_id or ""),
        ("created", timestamp(batch.created_at)),
    ]
    rows += [(f"metadata.{key}", value) for key, value in (batch.metadata or {}).items()]
    rows += [("error", error.describe()) for error in batch.error_list]
    return _detail(rows)


def file_detail(file: FileView) -> Table:
    rows = [
        ("id", file.id),
        ("filename", file.filename),
        ("purpose", file.purpose),
        ("bytes", "" if file.bytes is None else str(file.bytes)),
        ("created", timestamp(file.created_at)),
        ("expires", timestamp(file.expires_at)),
    ]
    return _detail(rows)


def show(table: Table) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 240  # piped: no terminal to fit, and a cropped id is useless
    console.print(table)


def emit(reply: Reply[T], as_json: bool, render: Callable[[T], Table | str]) -> None:
    """`--json`: the server's body as sent; otherwise `render` of the decoded value (a table or a line)."""
    if as_json:
        echo_json(reply.raw)
        return
    rendered = render(reply.value)
    if isinstance(rendered, str):
        click.echo(rendered)
    else:
        show(rendered)
