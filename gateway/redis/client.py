"""The one place a Redis client is built: `open_redis` turns the topology a `redis.url` names into a client.

A single node is reached through a blocking pool, so a burst waits for a free connection instead of
failing. The URL forms and their parsing live in `gateway.redis.url` (re-exported here).
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from gateway.core.redis_types import RedisClient
from gateway.redis.url import RedisTarget, RedisUrlError, parse_redis_url

__all__ = ["RedisTarget", "RedisUrlError", "open_redis", "parse_redis_url"]

MAX_CONNECTIONS = 100  # per process (per node on a Cluster)
POOL_WAIT_SECONDS = 10.0
HEALTH_CHECK_SECONDS = 30


def open_redis(url: str) -> RedisClient:
    """A client for the topology `url` names. Connections open lazily, on first use."""
    target = parse_redis_url(url)
    if target.topology == "cluster":
        return _cluster(target)
    if target.topology == "sentinel":
        return _sentinel(target)
    pool = BlockingConnectionPool.from_url(
        target.url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )
    return Redis.from_pool(pool)


def _cluster(target: RedisTarget) -> RedisCluster:
    # redis-py's cluster client keeps a pool per node that raises past `max_connections` instead of
    # waiting; the limit is per node, so a burst spread over the slots has the same headroom as one node.
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        username=target.username,
        password=target.password,
        ssl=target.tls,
        max_connections=MAX_CONNECTIONS,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """The Sentinel-managed pool that waits for a free connection, like the single-node pool."""


class _SentinelPrimary(Redis):
    """The primary's client; closing it also closes the connections to the Sentinels that name it."""

    sentinel_manager: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for node in self.sentinel_manager.sentinels if self.sentinel_manager is not None else ():
            await node.aclose()


def _sentinel(target: RedisTarget) -> Redis:
    sentinel_options = {"socket_connect_timeout": 2.0, "socket_timeout": 2.0, "ssl": target.tls}
    sentinel = Sentinel(list(target.hosts), sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
    client: _SentinelPrimary = sentinel.master_for(
        target.service_name,
        redis_class=_SentinelPrimary,
        connection_pool_class=_BlockingSentinelPool,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )
    client.sentinel_manager = sentinel
    return client
