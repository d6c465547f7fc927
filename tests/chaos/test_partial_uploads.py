"""An API replica SIGKILLed while it receives an upload leaves the storage's `.part` temporary file behind
(found by the chaos run). The temporary file names its writer (host and pid), so the restarted replica's
start-up sweep (and the worker's periodic one) removes what a dead writer left."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx

from tests.chaos.round import _SlowFile
from tests.conftest import TENANT_KEYS
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config


def test_killed_upload_leaves_no_partial_file(tmp_path: Path, redis_url: str) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "batchgate.toml"
    config.write_text(base_config(data_dir, redis_url))
    port = free_port()
    api = BatchgateProcess(["serve", "--no-worker", "--config", str(config), "--port", str(port)], tmp_path / "api.log")
    api.start().wait_http(f"http://127.0.0.1:{port}/readyz")
    body = b"".join(b'{"custom_id": "u%d"}\n' % i for i in range(40000))  # ~40 chunks of 16 KiB, 30 ms each

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"http://127.0.0.1:{port}/v1/files",
                headers={"authorization": f"Bearer {TENANT_KEYS['alpha']}"},
                data={"purpose": "batch"},
                files={"file": ("big.jsonl", _SlowFile(body))},
            )

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    time.sleep(0.5)
    api.kill()
    thread.join(10)
    assert list((data_dir / "files").rglob("*.part")), "precondition: the kill landed mid-upload"
    try:
        api.start().wait_http(f"http://127.0.0.1:{port}/readyz")
        time.sleep(1.0)
        assert not list((data_dir / "files").rglob("*.part")), "the partial upload is still in storage"
    finally:
        api.stop()
