"""A start-up check that Redis will not evict batchgate's keys.

Redis is batchgate's system of record: batch records, the work schedule, the ledger and, for the native
executor, every finished line's result until its batch finalizes. Under `maxmemory` with an eviction
policy (`allkeys-lru`, `volatile-ttl`…), Redis silently drops keys when full, which loses batches and
results. Only `noeviction` is safe: a full Redis then refuses writes, which batchgate retries and reports.
Managed services often forbid CONFIG, so a refused or failed check is logged and start-up goes on.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.core.redis_types import RedisClient

__all__ = ["SAFE_POLICY", "check_eviction_policy"]

SAFE_POLICY = "noeviction"
_CHECK_SECONDS = 2.0

_log = structlog.get_logger("batchgate.redis")


async def check_eviction_policy(redis: RedisClient) -> set[str] | None:
    """The `maxmemory-policy` values the server(s) report (a warning if any evicts); None if unknown."""
    try:
        if isinstance(redis, RedisCluster):  # every primary: each holds its slots' keys
            ask = redis.config_get("maxmemory-policy", target_nodes=RedisCluster.PRIMARIES)
        else:
            ask = redis.config_get("maxmemory-policy")
        reply = await asyncio.wait_for(ask, _CHECK_SECONDS)
    except (RedisError, OSError, TimeoutError) as exc:
        _log.info("redis_eviction_policy_unknown", error=type(exc).__name__)
        return None
    policies = _policies(reply)
    if not policies:
        _log.info("redis_eviction_policy_unknown", error="empty reply")
        return None
    if policies != {SAFE_POLICY}:
        _log.warning(
            "redis_evicts_keys",
            maxmemory_policy=sorted(policies),
            advice=f"set maxmemory-policy {SAFE_POLICY}: an evicting Redis silently loses batches and results",
        )
    return policies


def _policies(reply: object) -> set[str]:
    """CONFIG GET's reply: {name: value} from one node, or {node: {name: value}} from a Cluster."""
    if not isinstance(reply, dict):
        return set()
    found: set[str] = set()
    for key, value in reply.items():
        if isinstance(value, dict):
            found |= _policies(value)
        elif _text(key) == "maxmemory-policy":
            found.add(_text(value))
    return found


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
