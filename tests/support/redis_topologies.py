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
        self._processes: dict[Path, subprocess.Popen[bytes]] = {}

    def spawn(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self._processes[log] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def kill(self, log: Path) -> None:
        """SIGKILL the process spawned with `log`."""
        process = self._processes.pop(log)
        process.kill()
        process.wait()

    def stop(self) -> None:
        for process in self._processes.values():
            process.terminate()
        for process in self._processes.values():
            process.wait(timeout=10)
        self._processes.clear()


def _ping(port: int) -> bool:
    with redis.Redis(port=port, socket_connect_timeout=0.2) as client:
        return bool(client.ping())


class _Deployment:
    """Processes started together and stopped together; a failed start stops what it had started."""

    def __init__(self) -> None:
        self._processes = _Processes()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._processes.stop()


class ClusterServers(_Deployment):
    """Three cluster-enabled primaries sharing the 16384 slots (no replicas)."""

    def __init__(self, data_dir: Path, primaries: int = 3) -> None:
        self.data_dir = data_dir
        self.ports = [free_port() for _ in range(primaries)]
        super().__init__()

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

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


class SentinelServers(_Deployment):
    """One primary, optionally one replica, and one Sentinel monitoring the primary as `service` (quorum 1).

    With a replica, the Sentinel calls a silent primary down after `FAILOVER_MS` (its default is 30 s), so a
    test can kill the primary and see the replica promoted within a few seconds.
    """

    FAILOVER_MS = 300

    def __init__(self, data_dir: Path, service: str = "batchgate", *, replica: bool = False) -> None:
        self.data_dir = data_dir
        self.service = service
        self.primary_port, self.sentinel_port = free_port(), free_port()
        self.replica_port = free_port() if replica else None
        super().__init__()

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def _start(self) -> None:
        server = _binary("redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        primary = [server, "--port", str(self.primary_port), "--dir", str(self.data_dir), *_EPHEMERAL]
        self._processes.spawn(primary, self.data_dir / "primary.log")
        _until(lambda: _ping(self.primary_port), "the primary")
        if self.replica_port is not None:
            self._start_replica(server, self.replica_port)
        config = self.data_dir / "sentinel.conf"  # Sentinel rewrites its config file, so it gets its own
        text = (
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.data_dir}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.primary_port} 1\n"
        )
        if self.replica_port is not None:
            text += f"sentinel down-after-milliseconds {self.service} {self.FAILOVER_MS}\n"
            text += f"sentinel failover-timeout {self.service} 2000\n"
        config.write_text(text)
        self._processes.spawn([server, str(config), "--sentinel"], self.data_dir / "sentinel.log")
        _until(lambda: self.named_primary() == self.primary_port, "the Sentinel to report the primary")
        if self.replica_port is not None:
            _until(self._knows_a_replica, "the Sentinel to discover the replica")

    def _start_replica(self, server: str, port: int) -> None:
        replica_dir = self.data_dir / "replica"
        replica_dir.mkdir(exist_ok=True)
        argv = [server, "--port", str(port), "--dir", str(replica_dir), *_EPHEMERAL]
        self._processes.spawn([*argv, "--replicaof", "127.0.0.1", str(self.primary_port)], replica_dir / "replica.log")
        _until(lambda: self.role(port, "master_link_status") == "up", "the replica to sync")

    def named_primary(self) -> int:
        """The port of the primary the Sentinel names for `service` now."""
        with redis.Redis(port=self.sentinel_port, decode_responses=True) as sentinel:
            reply = sentinel.execute_command("SENTINEL", "get-master-addr-by-name", self.service)
            return int(reply[1]) if reply else 0

    def _knows_a_replica(self) -> bool:
        with redis.Redis(port=self.sentinel_port, decode_responses=True) as sentinel:
            return bool(sentinel.execute_command("SENTINEL", "replicas", self.service))

    @staticmethod
    def role(port: int, field: str = "role") -> object:
        """A field of the server's INFO replication section (`role`, `master_link_status`…)."""
        with redis.Redis(port=port, decode_responses=True) as client:
            return client.info("replication").get(field)

    def kill_primary(self) -> None:
        self._processes.kill(self.data_dir / "primary.log")

    def wait_for_promotion(self) -> None:
        """Block until the Sentinel names the replica as the primary."""
        _until(lambda: self.named_primary() == self.replica_port, "the Sentinel to promote the replica", 20.0)

    def flush(self) -> None:
        with redis.Redis(port=self.primary_port) as client:
            client.flushall()
