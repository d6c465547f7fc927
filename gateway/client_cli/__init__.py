"""The user's side of batchgate: `submit`, `batches` and `files` commands over the public OpenAI API.

Added to the `batchgate` group in `gateway.cli`. Nothing here reads server config or touches Redis:
these commands work against any OpenAI-compatible Files + Batches API.
"""

from gateway.client_cli.api import Api, Reply
from gateway.client_cli.batches import batches_group
from gateway.client_cli.errors import ExitCode
from gateway.client_cli.files import files_group
from gateway.client_cli.submit import submit_command

__all__ = ["Api", "ExitCode", "Reply", "batches_group", "files_group", "submit_command"]
