"""Many script calls in one round trip, on a single node or a Redis Cluster.

redis-py refuses EVALSHA in a cluster pipeline, so on a Cluster the calls go out concurrently instead, each to
the node owning its keys' slot (one call per batch and kind, so the count stays small). On a single node they
stay one pipeline, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.core.redis_types import RedisClient

__all__ = ["Call", "evalsha_many"]

Call = tuple[str, list[str], Sequence[str | int | float | bytes]]  # sha, keys, args
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


async def evalsha_many(redis: RedisClient, calls: Sequence[Call]) -> list[object]:
    """Each call's reply, or the error it got (like `execute(raise_on_error=False)`). A connection failure
    raises, as a pipeline's would, so the caller retries the whole round trip."""
    if not isinstance(redis, RedisCluster):
        pipe = redis.pipeline(transaction=False)
        for sha, keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        results: list[object] = await pipe.execute(raise_on_error=False)
        return results
    replies = await asyncio.gather(
        *(redis.evalsha(sha, len(keys), *keys, *args) for sha, keys, args in calls), return_exceptions=True
    )
    for reply in replies:
        if isinstance(reply, _DOWN):
            raise reply
    return list(replies)
