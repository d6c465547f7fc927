"""The worker loop is never a live process doing nothing: what it cannot get over ends `run` with
`WorkerDied` (the process exits non-zero), and `/readyz` turns 503 when its tick goes stale."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.config.settings import Settings
from gateway.ops.liveness import STALE_SECONDS
from gateway.services import open_services
from gateway.worker.context import WorkerContext
from gateway.worker.loop import Worker, WorkerDied
from gateway.worker.providers import ProviderSet
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port
from tests.support.processes import base_config


class _DyingExecutor:
    """A self-executing provider whose executor crashes (a bug in it, or an error it does not handle)."""

    name = "dying"

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(0.3)
        raise RuntimeError("executor bug")

    async def aclose(self) -> None:
        return None


class _HealthyExecutor:
    name = "healthy"

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def aclose(self) -> None:
        return None


async def test_a_dead_executor_ends_the_worker_loop(settings: Settings) -> None:
    services = open_services(settings)
    # Next to a healthy executor, which must not keep the dead loop from returning.
    providers = ProviderSet({"dying": _DyingExecutor(), "healthy": _HealthyExecutor()})  # type: ignore[dict-item]
    ctx = WorkerContext(services, providers, services.ledger, services.metrics, lease_ms=1000)
    try:
        with pytest.raises(WorkerDied, match=r"provider-run-dying.*executor bug"):
            await asyncio.wait_for(Worker(ctx).run(asyncio.Event()), 10)
        assert not services.worker_health.running
    finally:
        await services.aclose()


def test_readyz_turns_503_when_the_embedded_workers_tick_is_stale(settings: Settings) -> None:
    server = GatewayServer(settings, run_worker=True, providers=ProviderSet({}))
    server.start()
    try:
        deadline = time.monotonic() + 10
        while (ready := httpx.get(f"{server.root_url}/readyz")).json().get("worker") is None:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.05)
        assert ready.status_code == 200
        assert ready.json()["worker"] is True
        health = server.app.state.services.worker_health
        health.last_tick = time.time() - STALE_SECONDS - 5  # as if the loop had hung
        health.tick = lambda: None  # and stays hung
        stale = httpx.get(f"{server.root_url}/readyz")
        assert stale.status_code == 503
        assert stale.json() == {
            "status": "unavailable",
            "redis": True,
            "storage": True,
            "draining": False,
            "worker": False,
        }
    finally:
        server.stop()


_SERVE_WITH_A_DYING_WORKER = """
import sys
import gateway.http.app

async def dying_worker(*args, **kwargs):
    await __import__("asyncio").sleep(0.5)
    raise RuntimeError("worker loop bug")

gateway.http.app.run_worker_loop = dying_worker
from gateway.cli.commands import main
main(["serve", "--config", sys.argv[1], "--port", sys.argv[2]])
"""


def test_serve_exits_1_when_its_embedded_worker_dies(tmp_path: Path, redis_url: str) -> None:
    """Never an API whose batches no longer move: the whole process stops, so a supervisor restarts it."""
    config = tmp_path / "batchgate.toml"
    config.write_text(base_config(tmp_path / "data", redis_url))
    argv = [sys.executable, "-c", _SERVE_WITH_A_DYING_WORKER, str(config), str(free_port())]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    assert result.returncode == 1, result.stderr[-2000:]
    assert '"event": "worker_died"' in result.stdout + result.stderr
    assert "worker loop bug" in result.stdout + result.stderr
    assert "the embedded worker stopped (see the log); exiting with status 1" in result.stderr
