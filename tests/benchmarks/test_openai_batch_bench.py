"""openai_batch benchmarks against the simulator in its own process (so its CPU and memory are not ours).

Figures printed: upstream requests per in-flight batch per poll and CPU per poll with 1,000 batches; RSS
growth and throughput of re-emitting a ~200 MB output file through fetch_results, against a plain copy.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from providers.base import Finished
from providers.config import OpenAIBatchSettings
from providers.openai_batch.provider import OpenAIBatchProvider
from providers.openai_batch.state import Shard, State, encode_state
from tests.integration.providers.openai_batch.helpers import input_lines, make_job
from tests.support.batch_upstream import DEEPSEEK
from tests.support.blobs import DirBlobs
from tests.support.ports import free_port

pytestmark = pytest.mark.benchmark
KEY = "sk-bench"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.batch_upstream", "--port", str(port), "--api-key", KEY]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # "listening on ..."
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(10)
    process.stdout.close()


def _control(base: str, path: str, body: object) -> None:
    httpx.post(base.removesuffix("/v1") + path, content=msgspec.json.encode(body)).raise_for_status()


def _stats(base: str) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = httpx.get(base.removesuffix("/v1") + "/_sim/stats").json()
    return result


def _provider(base: str, blobs: DirBlobs) -> OpenAIBatchProvider:
    settings = OpenAIBatchSettings(base_url=base, api_key_env="BENCH_KEY", max_concurrency=32)
    return OpenAIBatchProvider("bench", settings, blobs, KEY)


async def test_poll_cost_with_1000_batches_in_flight(upstream: str, tmp_path: Path) -> None:
    _control(upstream, "/_sim/options", msgspec.structs.replace(DEEPSEEK, api_key=KEY, hang=True))
    blobs = DirBlobs(tmp_path)
    job = make_job(blobs, input_lines(1))
    async with httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        files = {"file": ("in.jsonl", b"".join(line + b"\n" for line in input_lines(1)))}
        file_id = (await raw.post("/files", data={"purpose": "batch"}, files=files)).json()["id"]
        body = {"input_file_id": file_id, "endpoint": job.endpoint, "completion_window": "24h"}
        ids = [(await raw.post("/batches", json=body)).json()["id"] for _ in range(1000)]
    states = [encode_state(State(shards=[Shard(index=0, first_line=0, requests=1, bytes=1, batch_id=i)])) for i in ids]
    await asyncio.sleep(0.3)  # past validating
    provider = _provider(upstream, blobs)
    before = _stats(upstream)["calls"].get("retrieve", 0)
    rounds = 3
    cpu, wall = time.process_time(), time.monotonic()
    for _ in range(rounds):
        outcomes = await asyncio.gather(*(provider.poll(job, state) for state in states))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    calls = _stats(upstream)["calls"]["retrieve"] - before
    per_batch = calls / (rounds * len(states))
    assert not any(isinstance(o, Finished) for o, _ in outcomes)
    print(f"\npoll: {per_batch:.2f} upstream requests per batch per poll; "
          f"CPU {cpu / (rounds * len(states)) * 1e3:.3f} ms per batch-poll; "
          f"wall {wall / rounds:.2f} s per round of 1000")  # fmt: skip
    assert per_batch <= 1.0
    await provider.aclose()


async def test_fetch_results_of_a_200mb_output(upstream: str, tmp_path: Path) -> None:
    _control(upstream, "/_sim/options", msgspec.structs.replace(DEEPSEEK, api_key=KEY, completion_pad=4500))
    blobs = DirBlobs(tmp_path)
    job = make_job(blobs, input_lines(45_000), batch_id="batch_big")
    provider = _provider(upstream, blobs)
    state = await provider.submit(job)
    while True:
        outcome, state = await provider.poll(job, state)
        if isinstance(outcome, Finished):
            break
        await asyncio.sleep(0.5)
    rss0 = peak = _rss_mb()
    size = count = 0
    started = time.monotonic()
    async for line in provider.fetch_results(job, state):
        size += len(line) + 1
        count += 1
        if count % 2000 == 0:
            peak = max(peak, _rss_mb())
    fetch = time.monotonic() - started
    assert count == 45_000

    copy_path = tmp_path / "copy.jsonl"
    (output_id,) = [s.output_file_id for s in msgspec.json.decode(state, type=State).shards]
    async with httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {KEY}"}, timeout=300) as raw:
        started = time.monotonic()
        with copy_path.open("wb") as sink:
            async with raw.stream("GET", f"/files/{output_id}/content") as response:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
        copy = time.monotonic() - started
    mb = size / 2**20
    print(f"\nfetch_results: {mb:.0f} MB, {count} lines in {fetch:.2f} s ({mb / fetch:.0f} MB/s); "
          f"plain download-to-file {copy:.2f} s ({mb / copy:.0f} MB/s); ratio {copy / fetch:.2f} of copy speed; "
          f"RSS growth {peak - rss0:.1f} MB")  # fmt: skip
    assert size >= 180 * 2**20
    assert peak - rss0 <= 64
    await provider.aclose()
