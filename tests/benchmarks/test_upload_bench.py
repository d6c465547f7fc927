"""Upload throughput and the gateway's peak RSS growth for 20 MB and 200 MB JSONL files through the SDK.

Targets (issue: foundation): RSS growth ≤ 150 MB for 200 MB, and ≤ +30 MB between 20 MB and 200 MB
(proof that uploads stream). The gateway runs as its own process (`batchgate serve`); its peak RSS is
reset before each upload (`/proc/<pid>/clear_refs`) and read from VmHWM after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config

MB = 1024 * 1024


def _kib(pid: int, field: str) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1])
    raise KeyError(field)


def _write_jsonl(path: Path, size: int) -> None:
    body = '{"model": "deepseek-chat", "messages": [{"role": "user", "content": "%s"}], "max_tokens": 100}'
    with path.open("w") as handle:
        written, index = 0, 0
        while written < size:
            text = f'{{"custom_id": "r{index}", "method": "POST", "url": "/v1/chat/completions", "body": '
            line = text + body % ("x" * 3000) + "}\n"
            handle.write(line)
            written += len(line)
            index += 1


@pytest.fixture
def server(tmp_path: Path, redis_url: str) -> Iterator[tuple[BatchgateProcess, str]]:
    config = tmp_path / "batchgate.toml"
    config.write_text(base_config(tmp_path / "data", redis_url))
    port = free_port()
    process = BatchgateProcess(["serve", "--no-worker", "--config", str(config), "--port", str(port)], tmp_path / "log")
    process.start()
    process.wait_http(f"http://127.0.0.1:{port}/readyz")
    yield process, f"http://127.0.0.1:{port}/v1"
    process.stop()


@pytest.mark.benchmark
def test_upload_streams(server: tuple[BatchgateProcess, str], tmp_path: Path) -> None:
    process, base_url = server
    assert process.process is not None
    pid = process.process.pid
    client = openai.OpenAI(base_url=base_url, api_key=TENANT_KEYS["alpha"], max_retries=0, timeout=600)
    growth = {}
    print()
    for size_mb in (20, 200):
        path = tmp_path / f"upload-{size_mb}.jsonl"
        _write_jsonl(path, size_mb * MB - 4096)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        baseline = _kib(pid, "VmRSS")
        started = time.perf_counter()
        with path.open("rb") as handle:
            uploaded = client.files.create(file=handle, purpose="batch")
        seconds = time.perf_counter() - started
        growth[size_mb] = (_kib(pid, "VmHWM") - baseline) / 1024
        assert uploaded.bytes == path.stat().st_size
        print(f"upload {size_mb:>3} MB: {size_mb / seconds:7.1f} MB/s, peak RSS growth {growth[size_mb]:6.1f} MB")
        path.unlink()
    print(f"RSS growth difference 200 MB vs 20 MB: {growth[200] - growth[20]:+.1f} MB (target <= +30 MB)")
    assert growth[200] <= 150
    assert growth[200] - growth[20] <= 30
    client.close()
