"""Sentinel failover: the primary dies, the Sentinel promotes its replica, and batchgate's client follows.

README "Operations" promises that a `redis+sentinel://` client follows failovers. Here a real primary, a
real replica and a real Sentinel (quick failure detection) run; a batch is created, the primary is
SIGKILLed, and the same client (no restart, no new URL) reads the batch back and moves it on once the
Sentinel names the promoted replica. Writes that fail during the election are retried, as the worker does.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounting.redis_types import RedisClient
from gateway.batches import BatchStatus, BatchStore
from gateway.redis_client import open_redis
from tests.integration.batches.support import new_record
from tests.support.ports import free_port

T = TypeVar("T")
SERVICE = "failover"
_DOWN = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


class Deployment:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.primary, self.replica, self.sentinel = free_port(), free_port(), free_port()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel}/{SERVICE}/0"

    def start(self) -> None:
        self._server(self.primary)
        self._server(self.replica, "--replicaof", "127.0.0.1", str(self.primary))
        _until(lambda: _info(self.replica, "replication").get("master_link_status") == "up", "replication")
        config = self.root / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel}\nbind 127.0.0.1\ndir {self.root}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 300\n"
            f"sentinel failover-timeout {SERVICE} 2000\n"
        )
        self._spawn(self.sentinel, [str(config), "--sentinel"])
        _until(lambda: self.named_primary() == self.primary, "the Sentinel to know the primary")
        _until(self._sentinel_knows_replica, "the Sentinel to discover the replica")

    def _server(self, port: int, *extra: str) -> None:
        data = self.root / str(port)
        data.mkdir()
        argv = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", "", "--appendonly", "no"]
        self._spawn(port, [*argv, *extra])
        _until(lambda: _ping(port), f"redis-server on {port}")

    def _spawn(self, port: int, argv: list[str]) -> None:
        with (self.root / f"{port}.log").open("ab") as log:
            binary = shutil.which("redis-server") or "redis-server"
            self.processes[port] = subprocess.Popen([binary, *argv], stdout=log, stderr=subprocess.STDOUT)

    def named_primary(self) -> int:
        with redis.Redis(port=self.sentinel, decode_responses=True) as sentinel:
            reply = sentinel.execute_command("SENTINEL", "get-master-addr-by-name", SERVICE)
            return int(reply[1])

    def _sentinel_knows_replica(self) -> bool:
        with redis.Redis(port=self.sentinel, decode_responses=True) as sentinel:
            return bool(sentinel.execute_command("SENTINEL", "replicas", SERVICE))

    def kill_primary(self) -> None:
        process = self.processes.pop(self.primary)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(10)


def _ping(port: int) -> bool:
    with redis.Redis(port=port, socket_connect_timeout=0.2) as client:
        return bool(client.ping())


def _info(port: int, section: str) -> dict[str, object]:
    with redis.Redis(port=port, decode_responses=True) as client:
        return client.info(section)  # type: ignore[no-any-return]


def _until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    servers = Deployment(tmp_path)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
async def client(deployment: Deployment) -> AsyncIterator[RedisClient]:
    redis_client = open_redis(deployment.url)
    yield redis_client
    await redis_client.aclose()


async def test_the_client_follows_a_failover(deployment: Deployment, client: RedisClient) -> None:
    store = BatchStore(client)
    record = new_record()
    await store.create(record)
    await client.execute_command("WAIT", 1, 2000)  # replicated before the primary dies

    deployment.kill_primary()
    _until(lambda: deployment.named_primary() == deployment.replica, "the Sentinel to promote the replica")

    moved = await _retrying(lambda: store.transition(record.id, BatchStatus.IN_PROGRESS, cause="after failover", now=2))
    assert moved is not None
    assert moved.status is BatchStatus.IN_PROGRESS
    fresh = await store.get(record.id, tenant=record.tenant)
    assert fresh is not None
    assert fresh.status is BatchStatus.IN_PROGRESS
    assert _info(deployment.replica, "replication")["role"] == "master"


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
