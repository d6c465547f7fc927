"""The one Redis client type every package accepts: a single node (or a Sentinel-managed primary) or a Cluster.

It lives in the bottom layer so `providers` and `gateway` can name it without a cycle; the client itself is
built only at an entry point (`gateway.redis.client.open_redis`). Every multi-key call site keeps its keys in
one hash slot, so code written against this type runs unchanged on both.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

__all__ = ["RedisClient"]

RedisClient: TypeAlias = Redis | RedisCluster
