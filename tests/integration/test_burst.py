"""A burst wider than the Redis connection pool waits for connections instead of answering 500.

Found by the load test: redis-py's default pool raises "Too many connections" past 100 at once, which the
gateway answered as 500s; the blocking pool in `open_services` makes requests queue for a connection.
"""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.redis.client import MAX_CONNECTIONS as REDIS_MAX_CONNECTIONS
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer


async def _burst(url: str, count: int) -> list[int]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def one() -> int:
            async with session.get(url, headers=headers) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one() for _ in range(count)))


def test_burst_beyond_the_pool_gets_no_500(gateway: GatewayServer) -> None:
    statuses = asyncio.run(_burst(f"{gateway.base_url}/batches/batch_unknown", 3 * REDIS_MAX_CONNECTIONS))
    assert set(statuses) == {404}, sorted(set(statuses))
