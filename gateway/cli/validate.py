"""`batchgate validate FILE --endpoint E [--config PATH] [--json]`: the server's rules, offline.

Exit 0 when the file is valid, 1 when it is not, 2 on usage errors (unknown endpoint, unreadable file,
bad config). With a config (`--config` or BATCHGATE_CONFIG) the model must also have a route whose
provider serves the endpoint; without one, that check is skipped.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click
import msgspec

from gateway.validation import LineError, ValidationReport, validate_file
from gateway.validation.endpoints import ALL_ENDPOINTS

__all__ = ["validate_command"]


class _UsageProblem(click.ClickException):
    exit_code = 2


class _JsonReport(msgspec.Struct):
    """The `--json` contract (ARCHITECTURE.md §2.1): exactly these four keys."""

    valid: bool
    requests: int
    model: str | None
    errors: list[LineError]


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--endpoint", required=True, type=click.Choice(ALL_ENDPOINTS), help="The batch's endpoint.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config file (else BATCHGATE_CONFIG).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate_command(file: Path, endpoint: str, config_path: Path | None, as_json: bool) -> None:
    """Check a batch input FILE with the very rules the server applies."""
    serves = output_cap = None
    if config_path is not None or os.environ.get("BATCHGATE_CONFIG"):
        from gateway.config.settings import ConfigError, load_settings  # only with a config: the common run skips it

        try:
            settings = load_settings(config_path)
        except ConfigError as exc:
            raise _UsageProblem(str(exc)) from None
        serves, output_cap = functools.partial(settings.serves, endpoint=endpoint), settings.max_output_tokens
    try:
        report = validate_file(file, endpoint, serves_model=serves, output_cap=output_cap)
    except OSError as exc:
        raise _UsageProblem(f"cannot read {str(file)!r}: {exc.strerror or exc}") from None
    click.echo(_as_json(report) if as_json else _as_text(report))
    raise SystemExit(0 if report.valid else 1)


def _as_json(report: ValidationReport) -> str:
    shape = _JsonReport(report.valid, report.requests, report.model, report.errors)
    return msgspec.json.encode(shape).decode()


def _as_text(report: ValidationReport) -> str:
    listing = [f"{_where(error)}: {error.code}: {error.message}" for error in report.errors]
    model = f" for model {report.model!r}" if report.model else ""
    if report.valid:
        listing.append(f"valid: {report.requests} requests{model}")
    else:
        shown = f" (showing the first {len(report.errors)})" if report.error_count > len(report.errors) else ""
        listing.append(f"invalid: {report.error_count} errors in {report.requests} requests{model}{shown}")
    return "\n".join(listing)


def _where(error: LineError) -> str:
    return "file" if error.line is None else f"line {error.line}"
