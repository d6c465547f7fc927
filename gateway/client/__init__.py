"""The user's side of batchgate: `submit`, `batches` and `files` commands over the public OpenAI API.

Registered in `gateway.cli.commands.LAZY_COMMANDS` and imported only when one of them runs, which is why this
package imports none of its modules. Nothing here reads server config or touches Redis: these commands
work against any OpenAI-compatible Files + Batches API, and depend only on `gateway.validation`, the
wire views in `wire.py`, click, rich and httpx.
"""
