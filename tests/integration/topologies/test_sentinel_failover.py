"""Sentinel failover: the primary dies, the Sentinel promotes its replica, and batchgate's client follows.

docs/operations.md promises that a `redis+sentinel://` client follows failovers. Here a real primary, a
real replica and a real Sentinel (quick failure detection) run; a batch is created, the primary is
SIGKILLed, and the same client (no restart, no new URL) reads the batch back and moves it on once the
Sentinel names the promoted replica. Writes that fail during the election are retried, as the worker does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.batches import BatchStatus, BatchStore
from gateway.core.redis_types import RedisClient
from gateway.redis.client import open_redis
from tests.integration.batches.support import new_record
from tests.support.redis_topologies import SentinelServers

T = TypeVar("T")
_DOWN = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[SentinelServers]:
    servers = SentinelServers(tmp_path, service="failover", replica=True)
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
async def client(deployment: SentinelServers) -> AsyncIterator[RedisClient]:
    redis_client = open_redis(deployment.url)
    yield redis_client
    await redis_client.aclose()


async def test_the_client_follows_a_failover(deployment: SentinelServers, client: RedisClient) -> None:
    store = BatchStore(client)
    record = new_record()
    await store.create(record)
    await client.execute_command("WAIT", 1, 2000)  # replicated before the primary dies

    deployment.kill_primary()
    deployment.wait_for_promotion()

    moved = await _retrying(lambda: store.transition(record.id, BatchStatus.IN_PROGRESS, cause="after failover", now=2))
    assert moved is not None
    assert moved.status is BatchStatus.IN_PROGRESS
    fresh = await store.get(record.id, tenant=record.tenant)
    assert fresh is not None
    assert fresh.status is BatchStatus.IN_PROGRESS
    assert deployment.replica_port is not None
    assert deployment.role(deployment.replica_port) == "master"


async def _retrying(action: Callable[[], Awaitable[T]]) -> T:
    """What a worker step does with a Redis outage: try again shortly, until the new primary answers."""
    deadline = time.monotonic() + 20.0
    while True:
        try:
            return await action()
        except _DOWN:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
