"""`batchgate serve` as users start it: embedded Redis started and stopped with it, the loopback rule."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.processes import BATCHGATE, BatchgateProcess


def _redis_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def test_embedded_redis_lives_and_dies_with_serve(tmp_path: Path) -> None:
    config = tmp_path / "batchgate.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    port = free_port()
    server = BatchgateProcess(["serve", "--config", str(config), "--port", str(port)], tmp_path / "serve.log")
    server.start()
    try:
        server.wait_http(f"http://127.0.0.1:{port}/readyz")
        assert server.process is not None
        [redis_pid] = _redis_children(server.process.pid)
        # Dev mode (no tenants): any key works, and data lands in the embedded Redis with AOF on.
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/files",
            headers={"authorization": "Bearer sk-anything"},
            files={"file": ("a.jsonl", b"{}\n")},
            data={"purpose": "batch"},
        )
        assert response.status_code == 200
        assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()
        assert server.terminate() == 0
        deadline = time.monotonic() + 10
        while _alive(redis_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(redis_pid), "SIGTERM to serve must stop the embedded redis-server"
    finally:
        server.stop()


def test_failed_start_up_stops_the_embedded_redis(tmp_path: Path) -> None:
    with socket.socket() as busy:  # the port serve is told to use is already taken
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = tmp_path / "batchgate.toml"
        config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
        before = set(_all_redis_servers())
        done = subprocess.run(
            [str(BATCHGATE), "serve", "--config", str(config), "--port", str(busy.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    time.sleep(0.5)
    assert set(_all_redis_servers()) - before == set(), "a failed start-up must not leave redis-server behind"


def _all_redis_servers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "redis-server" and _alive(int(proc.name)):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_no_tenants_refuses_non_loopback(tmp_path: Path, host: str) -> None:
    done = subprocess.run(
        [str(BATCHGATE), "serve", "--host", host], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "without tenants" in done.stderr
    assert not (tmp_path / ".batchgate").exists(), "nothing is started before the refusal"


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nprot = 1\n")
    done = subprocess.run([str(BATCHGATE), "serve", "--config", str(config)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown key `server.prot`" in done.stderr
