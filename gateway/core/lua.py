"""Lua scripts: each a `Script` constant in its package's `lua.py`, called by SHA.

A server that lacks a script (new, restarted, flushed, or another Cluster node) answers NOSCRIPT; the call
then sends the source once with EVAL, which runs it and caches it there, so later calls go by SHA again.
That is one round trip in the common case and two after a restart, never a separate SCRIPT LOAD.
`evalsha_many` sends many calls in one round trip (the native executor's per-line bookkeeping).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.core.redis_types import RedisClient

__all__ = ["Arg", "Call", "Script", "evalsha_many"]

Arg = bytes | str | int | float  # a script argument as Redis takes it
Call = tuple[str, Sequence[str], Sequence[Arg]]  # sha, keys, args
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class Script:
    """A Lua script's source and SHA1. Calling it runs it with `keys` (all in one hash slot) and `args`."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, redis: RedisClient, keys: Sequence[str | bytes] = (), args: Sequence[Arg] = ()) -> Any:
        """The script's reply (Redis' types: ints, bytes, nested lists)."""
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)

    async def load(self, redis: RedisClient) -> None:
        """Cache the script on the server (after `evalsha_many` reported NOSCRIPT for it)."""
        await redis.script_load(self.source)


async def evalsha_many(redis: RedisClient, calls: Sequence[Call]) -> list[object]:
    """Each call's reply, or the error it got (a `NoScriptError` where the server lacks the script).

    On a single node the calls go out as one pipeline. redis-py refuses EVALSHA in a Cluster pipeline, so
    on a Cluster they go out concurrently, each to the node owning its keys' slot. A connection failure
    raises, as a pipeline's would, so the caller retries the whole round trip.
    """
    if not isinstance(redis, RedisCluster):
        pipe = redis.pipeline(transaction=False)
        for sha, keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        results: list[object] = await pipe.execute(raise_on_error=False)
        return results
    replies = await asyncio.gather(
        *(redis.evalsha(sha, len(keys), *keys, *args) for sha, keys, args in calls),
        return_exceptions=True,
    )
    for reply in replies:
        if isinstance(reply, _DOWN):
            raise reply
    return list(replies)
