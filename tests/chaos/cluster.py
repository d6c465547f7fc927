"""One chaos round's world: a private Redis (AOF), both upstream simulators behind fault proxies, the storage
directory on a small tmpfs when we may mount one, and `batchgate serve --no-worker` / `worker` processes.

Killed processes are restarted with the same arguments; `short` is a third API process whose
`batches.window_seconds` is tiny, used only to create the batch that must expire.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path

import msgspec

from tests.chaos.proxy import FaultProxy
from tests.conftest import TENANT_KEYS
from tests.support.batch_upstream import DEEPINFRA, DEEPSEEK, BatchUpstream
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.redis_server import RedisServer

__all__ = ["SHORT_WINDOW_SECONDS", "ChaosCluster"]

SHORT_WINDOW_SECONDS = 3
KEYS = {"CHAOS_DEEPSEEK_KEY": "sk-chaos-ds", "CHAOS_DEEPINFRA_KEY": "sk-chaos-di", "CHAOS_LOCAL_KEY": "sk-chaos-nat"}

CONFIG = """
data_dir = "{data_dir}"
[redis]
url = "{redis_url}"
[batches]
lease_seconds = 2.0
window_seconds = {window}
[[tenants]]
name = "alpha"
api_keys = ["{alpha_key}"]
admin = true
[providers.deepseek]
kind = "openai_batch"
base_url = "{deepseek_url}"
api_key_env = "CHAOS_DEEPSEEK_KEY"
batch_discount = "0.5"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.5
max_attempts = 3
request_timeout_seconds = 2.0
[providers.deepinfra]
kind = "openai_batch"
base_url = "{deepinfra_url}"
api_key_env = "CHAOS_DEEPINFRA_KEY"
batch_discount = "0.5"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.5
output_purpose = "batch-output"
max_attempts = 3
request_timeout_seconds = 2.0
[providers.sharded]
kind = "openai_batch"
base_url = "{deepseek_url}"
api_key_env = "CHAOS_DEEPSEEK_KEY"
batch_discount = "0.5"
endpoints = ["/v1/chat/completions"]
poll_interval_seconds = 0.5
max_attempts = 3
request_timeout_seconds = 2.0
max_requests_per_batch = 10
[providers.local]
kind = "native"
base_url = "{local_url}"
api_key_env = "CHAOS_LOCAL_KEY"
max_concurrency = 8
max_attempts = 3
request_timeout_seconds = 1.0
poll_interval_seconds = 0.3
reclaim_idle_seconds = 2.0
[[models]]
name = "deepseek-chat"
provider = "deepseek"
input_usd_per_mtok = "0.28"
output_usd_per_mtok = "0.42"
[[models]]
name = "deepseek-sharded"
provider = "sharded"
upstream_model = "deepseek-chat"
input_usd_per_mtok = "0.28"
output_usd_per_mtok = "0.42"
[[models]]
name = "llama-di"
provider = "deepinfra"
input_usd_per_mtok = "0.05"
output_usd_per_mtok = "0.08"
[[models]]
name = "local-model"
provider = "local"
input_usd_per_mtok = "0.1"
output_usd_per_mtok = "0.2"
"""


class ChaosCluster:
    def __init__(self, root: Path, *, workers: int, default_metrics_ports: bool = False) -> None:
        self.root = root
        self.default_metrics_ports = default_metrics_ports  # else no metrics endpoint (`--metrics-port 0`)
        self.data_dir = root / "data"
        self.storage_dir = self.data_dir / "files"
        self.redis = RedisServer(root / "redis")
        options = msgspec.structs.replace(DEEPSEEK, api_key=KEYS["CHAOS_DEEPSEEK_KEY"], in_progress_seconds=2.0)
        self.deepseek = BatchUpstream(options)
        options = msgspec.structs.replace(DEEPINFRA, api_key=KEYS["CHAOS_DEEPINFRA_KEY"], in_progress_seconds=5.0)
        self.deepinfra = BatchUpstream(options)
        self.local = RealtimeUpstream(latency=0.03)
        self.local.hang_seconds = 3.0
        self.proxies = {
            "deepseek": FaultProxy(f"http://127.0.0.1:{self.deepseek.port}"),
            "deepinfra": FaultProxy(f"http://127.0.0.1:{self.deepinfra.port}"),
        }
        self.tmpfs = False
        self.worker_count = workers
        self.apis: list[BatchgateProcess] = []
        self.workers: list[BatchgateProcess] = []
        self.short: BatchgateProcess | None = None
        self.restarts = 0
        self.unplanned_deaths: list[str] = []  # processes that exited by themselves: each fails the run
        self._bouncing = threading.RLock()

    def start(self) -> None:
        self.data_dir.mkdir(parents=True)
        self.storage_dir.mkdir()
        self.tmpfs = _mount_tmpfs(self.storage_dir)
        self.redis.start()
        self.deepseek.start()
        self.deepinfra.start()
        self.local.start()
        for proxy in self.proxies.values():
            proxy.start()
        self._write_config("batchgate.toml", 86400)
        self._write_config("short.toml", SHORT_WINDOW_SECONDS)
        self.apis = [self._api("batchgate.toml", f"api-{i}") for i in range(2)]
        self.short = self._api("short.toml", "api-short")
        self.workers = [self._worker(f"worker-{i}") for i in range(self.worker_count)]
        for api in [*self.apis, self.short]:  # started together: the two cores import in parallel
            api.wait_http(api.base_url.removesuffix("/v1") + "/readyz", timeout=90)  # type: ignore[attr-defined]

    def _write_config(self, name: str, window: int) -> None:
        text = CONFIG.format(
            data_dir=self.data_dir,
            redis_url=self.redis.url,
            window=window,
            alpha_key=TENANT_KEYS["alpha"],
            deepseek_url=self.proxies["deepseek"].base_url,
            deepinfra_url=self.proxies["deepinfra"].base_url,
            local_url=self.local.base_url,
        )
        (self.root / name).write_text(text)

    def _api(self, config: str, name: str) -> BatchgateProcess:
        port = free_port()
        args = ["serve", "--no-worker", "--config", str(self.root / config), "--port", str(port)]
        process = BatchgateProcess(args, self.root / f"{name}.log", KEYS).start()
        process.base_url = f"http://127.0.0.1:{port}/v1"  # type: ignore[attr-defined]
        return process

    def _worker(self, name: str) -> BatchgateProcess:
        args = ["worker", "--config", str(self.root / "batchgate.toml")]
        args += [] if self.default_metrics_ports else ["--metrics-port", "0"]
        return BatchgateProcess(args, self.root / f"{name}.log", KEYS).start()

    @property
    def api_urls(self) -> list[str]:
        return [process.base_url for process in self.apis]  # type: ignore[attr-defined]

    def bounce(self, processes: list[BatchgateProcess], pause: float) -> None:
        """SIGKILL the processes, wait `pause`, start them again; one bounce at a time (the monkey and the
        round both bounce, and two starts of one API would fight over its port)."""
        with self._bouncing:
            self.note_deaths(processes)
            for process in processes:
                process.kill()
            time.sleep(pause)
            for process in processes:
                self.restart(process)

    def note_deaths(self, processes: list[BatchgateProcess] | None = None) -> list[BatchgateProcess]:
        """Record every process (of `processes`, default all) that exited without being killed by us."""
        dead = [p for p in processes or self.processes() if p.process is not None and p.process.poll() is not None]
        for process in dead:
            code = process.process.returncode if process.process is not None else None
            tail = process.log_path.read_text(errors="replace")[-600:] if process.log_path.exists() else ""
            self.unplanned_deaths.append(f"{process.log_path.stem} exited by itself ({code}): {tail}")
        return dead

    def restart(self, process: BatchgateProcess) -> None:
        """Start a killed process again with the same arguments (an API keeps its port)."""
        process.start()
        self.restarts += 1
        url = getattr(process, "base_url", None)
        if url is not None:
            process.wait_http(url.removesuffix("/v1") + "/readyz", timeout=90)  # 2 cores shared by many

    def processes(self) -> list[BatchgateProcess]:
        return [*self.apis, *([self.short] if self.short else []), *self.workers]

    def stop(self) -> None:
        # The tmpfs is unmounted whatever failed before: a mount left behind outlives the run, and pytest's
        # clean-up of old temporary directories then fails every later session on this machine.
        try:
            for process in self.processes():
                process.stop()
            for proxy in self.proxies.values():
                proxy.stop()
            self.local.stop()
            self.deepinfra.stop()
            self.deepseek.stop()
            self.redis.stop()
        finally:
            if self.tmpfs:
                subprocess.run(["/bin/umount", "-l", str(self.storage_dir)], check=False)


def _mount_tmpfs(path: Path) -> bool:
    """A 64 MiB tmpfs as the storage root, so 'disk full' can be made real and undone; False when not root."""
    if os.geteuid() != 0:
        return False
    with contextlib.suppress(OSError):
        result = subprocess.run(
            ["/bin/mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], capture_output=True, check=False
        )
        return result.returncode == 0
    return False
