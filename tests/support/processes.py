"""`batchgate` processes for multi-process tests: started with a config, killed, terminated, their logs kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import TENANT_KEYS

BATCHGATE = Path(sys.executable).parent / "batchgate"


def base_config(data_dir: Path, redis_url: str, *, admin: bool = False) -> str:
    """The config TOML most multi-process tests start from: their data dir, the test Redis, tenant alpha.

    Tests append their own sections (providers, models) to it.
    """
    admin_line = "admin = true\n" if admin else ""
    return (
        f'data_dir = "{data_dir}"\n[redis]\nurl = "{redis_url}"\n'
        f'[[tenants]]\nname = "alpha"\napi_keys = ["{TENANT_KEYS["alpha"]}"]\n{admin_line}'
    )


class BatchgateProcess:
    def __init__(
        self,
        args: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        binary: Path = BATCHGATE,
        cwd: Path | None = None,
    ) -> None:
        self.args = args
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.binary = binary
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BatchgateProcess:
        log = self.log_path.open("ab")
        argv = [str(self.binary), *self.args]
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, env=self.env, cwd=self.cwd)
        log.close()
        return self

    def wait_http(self, url: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not answer:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)  # reaped: no "subprocess still running" warning in a later test
            self.process.wait()
