"""`batchgate accounting summary|export`: the finance side of batchgate over its accounting API.

Like every client command it needs only `--base-url`/`--api-key` (or OPENAI_BASE_URL/OPENAI_API_KEY): a
tenant sees its own batches, an admin every tenant's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from gateway.client.accounting_api import AccountingApi
from gateway.client.errors import UsageProblem
from gateway.client.options import api_options, stderr_console
from gateway.client.output import echo_json, show
from gateway.client.report import report_csv, report_table

__all__ = ["accounting_group", "parse_when"]

_WHEN_HELP = "UTC date (2026-11-01), ISO date-time, or unix seconds"
_SINCE = click.option("--since", help=f"Settled at or after this moment: {_WHEN_HELP}.")
_UNTIL = click.option("--until", help=f"Settled before this moment (exclusive): {_WHEN_HELP}.")


def parse_when(text: str | None, option: str) -> int | None:
    """Unix seconds of a `--since`/`--until` value; a date alone means 00:00 UTC that day."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"{option} {text!r} is not a date (YYYY-MM-DD), a date-time or unix seconds") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


@click.group("accounting")
def accounting_group() -> None:
    """What batches cost: summaries and the FOCUS billing export."""


@accounting_group.command("summary")
@_SINCE
@_UNTIL
@click.option("--group-by", "group_by", help="Comma-separated: tenant, provider, model or a declared tag key.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a total row.")
@api_options
def summary(
    since: str | None,
    until: str | None,
    group_by: str | None,
    as_json: bool,
    as_csv: bool,
    base_url: str,
    api_key: str,
) -> None:
    """Cost, savings and tokens of settled batches, grouped, with totals and the savings rate."""
    if as_json and as_csv:
        raise UsageProblem("--json and --csv exclude each other")
    names = [name.strip() for name in (group_by or "").split(",") if name.strip()]
    with AccountingApi(base_url, api_key) as api:
        page = api.summary(
            group_by=",".join(names) or None, since=parse_when(since, "--since"), until=parse_when(until, "--until")
        )
    if as_json:
        echo_json(page.raw)
    elif as_csv:
        click.echo(report_csv(page.value.data, names), nl=False)
    else:
        show(report_table(page.value.data, names))


@accounting_group.command("export")
@click.option("--focus", "focus", is_flag=True, required=True, help="FOCUS 1.2 CSV (the one format offered).")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@_SINCE
@_UNTIL
@api_options
def export(focus: bool, output: Path, since: str | None, until: str | None, base_url: str, api_key: str) -> None:
    """Write the ledger as FOCUS 1.2 rows (one per batch and token kind) to a CSV file."""
    del focus  # required: the flag names the format, so a later format can be added beside it
    with AccountingApi(base_url, api_key) as api:
        written = api.focus(output, since=parse_when(since, "--since"), until=parse_when(until, "--until"))
    stderr_console().print(f"wrote {written:,} bytes of FOCUS CSV to {output}", highlight=False)
