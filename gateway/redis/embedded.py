"""Embedded mode: with an empty `redis.url`, batchgate runs its own redis-server and stops it on exit.

AOF is on with `appendfsync everysec`, data lives under `<data_dir>/redis`, and the server listens on a
free loopback port only. If redis-server is not installed, start-up stops with the command to run.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

__all__ = ["EmbeddedRedis", "EmbeddedRedisError"]

_INSTALL_HINT = "Install it with `sudo apt-get install -y redis-server`, or set `redis.url` (or REDIS_URL)."


class EmbeddedRedisError(RuntimeError):
    pass


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir / "redis"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise EmbeddedRedisError(f"redis-server is not installed. {_INSTALL_HINT}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir.resolve())]
        argv += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes"]
        argv += ["--logfile", str((self.data_dir / "redis.log").resolve())]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # noqa: S603
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise EmbeddedRedisError(f"redis-server exited at start-up; see {self.data_dir / 'redis.log'}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        raise EmbeddedRedisError(f"redis-server did not become ready within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM lets redis-server flush its AOF; SIGKILL only if it does not exit in time."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
