"""`redis.url` names a Redis topology; `parse_redis_url` checks it without connecting or importing redis-py.

- `redis://` or `rediss://` (or `unix://`): one node, the embedded default or any single primary.
- `redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` for TLS): a Redis
  Cluster reached through any of the listed startup nodes.
- `redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]` (`rediss+sentinel://`):
  the primary that the listed Sentinels name for `service_name`, followed through failovers. The password
  is the data nodes'; the Sentinels are reached without one.

Settings call it at start-up (so loading a config never imports redis-py); its errors never quote the URL,
which may carry a password. `gateway.redis.client.open_redis` turns the result into a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

__all__ = ["RedisTarget", "RedisUrlError", "parse_redis_url"]

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
