"""Shared fixtures: one real redis-server per test session, flushed between tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import openai
import pytest
import redis.asyncio as aioredis

from gateway.config.settings import RedisSettings, Settings, Tenant, default_settings
from tests.support.gateway_server import GatewayServer
from tests.support.redis_server import RedisServer
from tests.support.redis_topologies import ClusterServers, SentinelServers


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """A real 3-primary Redis Cluster, started on first use (about 2 s)."""
    servers = ClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelServers]:
    """A real primary watched by a real Sentinel, started on first use."""
    servers = SentinelServers(tmp_path_factory.mktemp("redis-sentinel"))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture(params=["cluster", "sentinel"])
def topology_url(request: pytest.FixtureRequest) -> str:
    """The `redis.url` of a freshly flushed Cluster or Sentinel deployment (the single node is `redis_url`)."""
    servers: ClusterServers | SentinelServers = request.getfixturevalue(f"redis_{request.param}")
    servers.flush()
    return servers.url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


TENANT_KEYS = {"alpha": "sk-alpha-test-key", "beta": "sk-beta-test-key"}
# The scrape token of the e2e gateways (`server.metrics_token_sha256`): it shows tenant-level series on /metrics.
METRICS_TOKEN = "scrape-test-token"


@pytest.fixture
def settings(redis_url: str, data_dir: Path) -> Settings:
    """Two tenants (alpha is an admin), the test Redis, storage under a fresh directory."""
    tenants = [
        Tenant(name="alpha", api_keys=[TENANT_KEYS["alpha"]], admin=True),
        Tenant(name="beta", api_keys=[TENANT_KEYS["beta"]]),
    ]
    return msgspec.structs.replace(
        default_settings(), data_dir=str(data_dir), redis=RedisSettings(url=redis_url), tenants=tenants
    )


@pytest.fixture
def gateway(settings: Settings) -> Iterator[GatewayServer]:
    server = GatewayServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(gateway: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def beta_client(gateway: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.base_url, api_key=TENANT_KEYS["beta"], max_retries=0) as sdk:
        yield sdk
