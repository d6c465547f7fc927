"""The one place a Redis client is built: `redis.url` names the topology, this module turns it into a client.

- `redis://` or `rediss://`: one node (the embedded default, or any single primary), through a blocking
  pool, so a burst waits for a free connection instead of failing.
- `redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` for TLS): a Redis
  Cluster reached through any of the listed startup nodes.
- `redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]` (`rediss+sentinel://`):
  the primary that the listed Sentinels name for `service_name`, followed through failovers. The password
  is the data nodes'; the Sentinels are reached without one.

`parse_redis_url` checks a URL without connecting (settings call it at start-up); its errors never quote
the URL, which may carry a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from accounting.redis_types import RedisClient

__all__ = ["RedisTarget", "RedisUrlError", "open_redis", "parse_redis_url"]

MAX_CONNECTIONS = 100  # per process (per node on a Cluster)
POOL_WAIT_SECONDS = 10.0
HEALTH_CHECK_SECONDS = 30

_DEFAULT_PORTS = {"single": 6379, "cluster": 6379, "sentinel": 26379}
_SCHEMES: dict[str, tuple[Literal["single", "cluster", "sentinel"], bool]] = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("single", False),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}


class RedisUrlError(ValueError):
    """`redis.url` cannot name a topology; the message says why without quoting the URL."""


@dataclass(frozen=True)
class RedisTarget:
    """What a `redis.url` names. `url` is kept for single nodes only (redis-py parses those itself)."""

    topology: Literal["single", "cluster", "sentinel"]
    tls: bool = False
    hosts: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    service_name: str = ""
    db: int = 0
    url: str = field(default="", repr=False)


def parse_redis_url(url: str) -> RedisTarget:
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise RedisUrlError(f"redis.url must start with one of {known}")
    topology, tls = _SCHEMES[scheme]
    if topology == "single":
        return RedisTarget("single", tls, url=url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise RedisUrlError(f"{scheme}:// URLs take no query string or fragment")
    userinfo, _, netloc = parts.netloc.rpartition("@")
    username, password = _credentials(userinfo)
    hosts = tuple(_host_port(item, _DEFAULT_PORTS[topology]) for item in netloc.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    if topology == "cluster":
        if path not in ([], ["0"]):
            raise RedisUrlError("a Redis Cluster has only database 0; drop the path from redis+cluster://")
        return RedisTarget("cluster", tls, hosts, username, password)
    if not 1 <= len(path) <= 2:
        raise RedisUrlError("redis+sentinel:// needs the service name as its path: …/service_name[/db]")
    return RedisTarget("sentinel", tls, hosts, username, password, unquote(path[0]), _db(path[1:]))


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, has_password, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) if has_password else None


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    host, port = item, str(default_port)
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif ":" in item:
        host, port = item.rsplit(":", 1)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError("every node of redis.url must be host:port with a port between 1 and 65535")
    return host, int(port)


def _db(rest: list[str]) -> int:
    if not rest:
        return 0
    if not rest[0].isdigit():
        raise RedisUrlError("the database after the Sentinel service name must be a number")
    return int(rest[0])


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
