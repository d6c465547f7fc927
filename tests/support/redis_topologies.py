"""Real multi-process Redis topologies for tests: a 3-primary Cluster and a primary watched by a Sentinel.

Both are plain `redis-server` processes on free loopback ports (no persistence), started and torn down by
session fixtures; `flush()` empties them between tests. Their `url` is the `redis.url` batchgate is given.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.support.ports import free_port

_EPHEMERAL = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run `make test`, which installs redis-server")
    return path


def _until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class _Processes:
    def __init__(self) -> None:
        self._processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self._processes.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.wait(timeout=10)
        self._processes.clear()


def _ping(port: int) -> bool:
    with redis.Redis(port=port, socket_connect_timeout=0.2) as client:
        return bool(client.ping())


class ClusterServers:
    """Three cluster-enabled primaries sharing the 16384 slots (no replicas)."""

    def __init__(self, data_dir: Path, primaries: int = 3) -> None:
        self.data_dir = data_dir
        self.ports = [free_port() for _ in range(primaries)]
        self._processes = _Processes()

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        server = _binary("redis-server")
        for port in self.ports:
            node_dir = self.data_dir / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            argv = [server, "--port", str(port), "--dir", str(node_dir), *_EPHEMERAL]
            # The bus port is named: the default (port + 10000) does not exist for a free port above 55535.
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            argv += ["--cluster-port", str(free_port())]
            self._processes.spawn(argv, node_dir / "redis.log")
        for port in self.ports:
            _until(lambda port=port: _ping(port), f"cluster node {port}")  # type: ignore[misc]
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        create = [_binary("redis-cli"), "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=30)
        _until(self._ready, "cluster_state:ok on every node")

    def _ready(self) -> bool:
        for port in self.ports:
            with redis.Redis(port=port) as client:
                if client.cluster("INFO").get("cluster_state") != "ok":
                    return False
        return True

    def flush(self) -> None:
        for port in self.ports:
            with redis.Redis(port=port) as client:
                client.flushall()

    def stop(self) -> None:
        self._processes.stop()


class SentinelServers:
    """One primary and one Sentinel monitoring it as `service` (quorum 1)."""

    def __init__(self, data_dir: Path, service: str = "batchgate") -> None:
        self.data_dir = data_dir
        self.service = service
        self.primary_port, self.sentinel_port = free_port(), free_port()
        self._processes = _Processes()

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        server = _binary("redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        primary = [server, "--port", str(self.primary_port), "--dir", str(self.data_dir), *_EPHEMERAL]
        self._processes.spawn(primary, self.data_dir / "primary.log")
        _until(lambda: _ping(self.primary_port), "the primary")
        config = self.data_dir / "sentinel.conf"  # Sentinel rewrites its config file, so it gets its own
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.data_dir}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.primary_port} 1\n"
        )
        self._processes.spawn([server, str(config), "--sentinel"], self.data_dir / "sentinel.log")
        _until(self._knows_primary, "the Sentinel to report the primary")

    def _knows_primary(self) -> bool:
        with redis.Redis(port=self.sentinel_port, decode_responses=True) as sentinel:
            reply = sentinel.execute_command("SENTINEL", "get-master-addr-by-name", self.service)
            return bool(reply) and int(reply[1]) == self.primary_port

    def flush(self) -> None:
        with redis.Redis(port=self.primary_port) as client:
            client.flushall()

    def stop(self) -> None:
        self._processes.stop()
