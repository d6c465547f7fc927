"""Result assembly: Redis round trips per 100 result lines (target ≤ 1), throughput and memory.

50,000 result lines sit in a native executor's results hash (as a finished batch leaves them); the
gateway's `assemble` streams them through the provider's `fetch_results` into the output and error files.
Round trips are counted with Redis's own `total_commands_processed`.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis

from gateway.storage.local import LocalStorage
from gateway.worker.custom_ids import read_custom_ids
from gateway.worker.results import assemble
from providers import keys
from providers.base import BatchJob
from providers.config import NativeSettings
from providers.native.provider import NativeProvider

LINES = 50_000
PAD = "x" * 900


async def _commands(redis: aioredis.Redis) -> int:
    info = await redis.info("stats")
    return int(info["total_commands_processed"])


def _line(index: int) -> bytes:
    status = 400 if index % 50 == 0 else 200
    usage = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    body = {"choices": [{"message": {"content": PAD}}], "usage": usage}
    response = {"status_code": status, "request_id": f"req_{index}", "body": body}
    return msgspec.json.encode(
        {"id": f"batch_req_{index}", "custom_id": f"c{index}", "response": response, "error": None}
    )


@pytest.mark.benchmark
async def test_assembly_round_trips_and_throughput(redis_client: aioredis.Redis, tmp_path: Path) -> None:
    batch_id = "batch_bench"
    results_key = keys.native_results(batch_id)
    for start in range(0, LINES, 5000):
        await redis_client.hset(results_key, mapping={f"c{i}": _line(i) for i in range(start, start + 5000)})
    storage = LocalStorage(tmp_path / "files")
    ids = b"".join(msgspec.json.encode(f"c{i}") + b"\n" for i in range(LINES))
    await storage.write("batches/b/custom_ids", _once(ids))
    settings = NativeSettings(base_url="http://127.0.0.1:9/v1")
    provider = NativeProvider("bench", settings, redis_client, storage, None, worker_id="bench")
    job = BatchJob(
        batch_id=batch_id, tenant="t", endpoint="/v1/chat/completions", model="m", upstream_model="m",
        input_key="unused", input_bytes=0, total_requests=LINES, expires_at=0,
    )  # fmt: skip

    before = await _commands(redis_client)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    assembly = await assemble(
        storage=storage,
        spool_dir=tmp_path / "spool",
        lines=provider.fetch_results(job, b""),
        custom_ids=read_custom_ids(storage, "batches/b/custom_ids"),
        output_key="files/out",
        error_key="files/err",
        never_ran_code="batch_expired",
    )
    seconds = time.perf_counter() - started
    round_trips = await _commands(redis_client) - before - 1  # the INFO call itself counts once
    peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024

    size = sum(f.bytes for f in (assembly.output, assembly.errors) if f)
    copy_started = time.perf_counter()
    (tmp_path / "copy").write_bytes((tmp_path / "files" / "files" / "out").read_bytes())
    copy_seconds = time.perf_counter() - copy_started
    per_100 = round_trips / (LINES / 100)
    print(
        f"\nassembly of {LINES} lines ({size / 1e6:.0f} MB): {seconds:.2f} s, {size / 1e6 / seconds:.0f} MB/s; "
        f"Redis round trips per 100 lines: {per_100:.3f} (target <= 1); peak RSS growth {peak_growth_mb:.1f} MB; "
        f"a plain file copy of the output runs at {size / 1e6 / copy_seconds:.0f} MB/s"
    )
    assert (assembly.completed, assembly.failed) == (LINES - LINES // 50, LINES // 50)
    assert per_100 <= 1
    await provider.aclose()


async def _once(data: bytes):  # type: ignore[no-untyped-def]
    yield data
