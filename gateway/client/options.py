"""Options shared by every client command: where the API is and who we are."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from rich.console import Console

__all__ = ["DEFAULT_BASE_URL", "api_options", "json_option", "stderr_console"]

F = TypeVar("F", bound=Callable[..., object])

# batchgate's own default address, not OpenAI's: a forgotten OPENAI_BASE_URL must not send a file elsewhere.
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def api_options(func: F) -> F:
    base_url = click.option(
        "--base-url",
        envvar="OPENAI_BASE_URL",
        default=DEFAULT_BASE_URL,
        show_default=True,
        help="API base URL, ending in /v1 (default: $OPENAI_BASE_URL).",
    )
    # Never shown in help or errors: the value is a secret.
    api_key = click.option(
        "--api-key", envvar="OPENAI_API_KEY", required=True, help="API key (default: $OPENAI_API_KEY)."
    )
    return base_url(api_key(func))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the server's JSON instead of a table.")(func)


def stderr_console() -> Console:
    """Progress, status and messages: stderr, so stdout stays for ids, tables and JSON."""
    return Console(stderr=True, highlight=False)
