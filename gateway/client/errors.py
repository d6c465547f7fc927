"""Exit codes and the errors that carry them (ARCHITECTURE.md §2.1).

0 the batch completed (or an admin command succeeded); 1 the batch failed, expired or was cancelled;
2 usage or validation errors, including requests the server refused as invalid (unknown id, a batch
that can no longer be cancelled); 3 connection or authentication problems, and servers that answer
what is worth a retry (`providers.retry.is_retryable_status`: 408/409/429, 5xx but 501/505); 130 the
user pressed Ctrl-C and chose to stop following a batch that keeps running.
"""

from __future__ import annotations

from enum import IntEnum

import click

__all__ = [
    "AuthFailed",
    "CliError",
    "ExitCode",
    "RequestRejected",
    "Unavailable",
    "UsageProblem",
]


class ExitCode(IntEnum):
    OK = 0
    BATCH_NOT_COMPLETED = 1
    USAGE = 2
    CONNECTION = 3
    STOPPED_FOLLOWING = 130  # the shell convention for SIGINT; the batch itself is unaffected


class CliError(click.ClickException):
    """A problem reported as `Error: <message>` on stderr, exiting with `exit_code`."""

    exit_code = ExitCode.USAGE


class UsageProblem(CliError):
    exit_code = ExitCode.USAGE


class RequestRejected(CliError):
    """The server answered 4xx (other than auth): the request, not the connection, was wrong."""

    exit_code = ExitCode.USAGE

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the server refused the request ({status}): {message}")
        self.status = status


class AuthFailed(CliError):
    exit_code = ExitCode.CONNECTION


class Unavailable(CliError):
    """The server could not be reached or answered with a transient error; polling may retry these."""

    exit_code = ExitCode.CONNECTION
