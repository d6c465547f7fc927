"""The start-up check of Redis's eviction policy, against real servers: one node, a Cluster, a refused CONFIG."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from gateway.redis.client import open_redis
from gateway.redis.policy import check_eviction_policy
from tests.support.redis_topologies import ClusterServers


async def test_a_single_node_that_evicts_is_reported(redis_client: aioredis.Redis) -> None:
    try:
        await redis_client.config_set("maxmemory-policy", "allkeys-lru")
        with capture_logs() as logs:
            assert await check_eviction_policy(redis_client) == {"allkeys-lru"}
        [warning] = [entry for entry in logs if entry["event"] == "redis_evicts_keys"]
        assert warning["log_level"] == "warning"
        assert warning["maxmemory_policy"] == ["allkeys-lru"]
    finally:
        await redis_client.config_set("maxmemory-policy", "noeviction")
    with capture_logs() as logs:
        assert await check_eviction_policy(redis_client) == {"noeviction"}
    assert logs == []


@pytest.fixture
async def cluster_client(redis_cluster: ClusterServers) -> AsyncIterator[aioredis.RedisCluster]:
    client = open_redis(redis_cluster.url)
    assert isinstance(client, aioredis.RedisCluster)
    yield client
    await client.aclose()


async def test_one_evicting_cluster_node_is_reported(
    cluster_client: aioredis.RedisCluster, redis_cluster: ClusterServers
) -> None:
    assert await check_eviction_policy(cluster_client) == {"noeviction"}
    node = aioredis.Redis(port=redis_cluster.ports[1])
    try:
        await node.config_set("maxmemory-policy", "volatile-ttl")
        with capture_logs() as logs:
            assert await check_eviction_policy(cluster_client) == {"noeviction", "volatile-ttl"}
        assert [entry["event"] for entry in logs] == ["redis_evicts_keys"]
    finally:
        await node.config_set("maxmemory-policy", "noeviction")
        await node.aclose()


async def test_a_refused_config_command_leaves_the_policy_unknown(redis_client: aioredis.Redis) -> None:
    """Managed Redis services often forbid CONFIG: the check says so and start-up goes on."""
    await redis_client.acl_setuser(
        "no-config", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-config"]
    )
    port = redis_client.connection_pool.connection_kwargs["port"]
    limited = aioredis.Redis(port=port, username="no-config", password="pw")
    try:
        with capture_logs() as logs:
            assert await check_eviction_policy(limited) is None
        assert [(entry["event"], entry["error"]) for entry in logs] == [
            ("redis_eviction_policy_unknown", "NoPermissionError")
        ]
    finally:
        await limited.aclose()
        await redis_client.acl_deluser("no-config")
