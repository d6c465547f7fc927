"""S3Storage throughput and memory with a 100 MiB object, against moto in a separate process.

The server runs in its own process so the RSS figures are the gateway side's alone. moto is pure Python,
so throughput here is the server's ceiling, not the client's; memory growth is the figure that matters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.storage.factory import open_storage
from tests.integration.storage.conftest import storage_settings
from tests.integration.storage.s3_server import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.ports import free_port

pytestmark = pytest.mark.benchmark

MIB = 1024 * 1024
SIZE = 100 * MIB


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def moto_process() -> Iterator[str]:
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bench", method="PUT"), timeout=5)  # noqa: S310
    yield endpoint
    process.terminate()
    process.wait()


async def source() -> AsyncIterator[bytes]:
    block = os.urandom(MIB)
    for _ in range(SIZE // MIB):
        yield block


async def test_s3_100_mib_round_trip(moto_process: str, tmp_path: Path) -> None:
    environ = {
        "AWS_ENDPOINT_URL": moto_process,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
    }
    storage = open_storage(storage_settings("s3://bench/files", tmp_path), environ=environ)
    before = rss_mib()
    started = time.perf_counter()
    assert await storage.write("big", source()) == SIZE
    upload = time.perf_counter() - started
    after_upload = rss_mib()
    started, read, peak = time.perf_counter(), 0, after_upload
    async for chunk in storage.open_read("big"):
        read += len(chunk)
        peak = max(peak, rss_mib())
    download = time.perf_counter() - started
    print(
        f"\nS3Storage 100 MiB: upload {SIZE / MIB / upload:.0f} MiB/s, download {read / MIB / download:.0f} MiB/s, "
        f"RSS +{after_upload - before:.0f} MiB after upload, +{peak - before:.0f} MiB peak while reading"
    )
    assert read == SIZE
    assert peak - before < 80, "memory grew with the object size"
