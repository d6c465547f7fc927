"""Files over the per-batch limits become several upstream batches, aggregated into one."""

from __future__ import annotations

from collections import Counter

import msgspec

from providers.base import Finished, Running
from tests.integration.providers.openai_batch.helpers import collect, input_lines, make_job, make_provider, run_to_end
from tests.support.batch_upstream import BatchUpstream
from tests.support.blobs import DirBlobs


async def test_request_limit_shards_merge_and_sum(sim: BatchUpstream, blobs: DirBlobs) -> None:
    sim.options.max_requests_per_batch = 10  # the upstream would fail a bigger batch
    sim.options.failed_custom_ids = ["req-00004", "req-00021"]
    job = make_job(blobs, input_lines(25))
    provider = make_provider(sim, blobs, max_requests_per_batch=10)
    state = await provider.submit(job)
    assert len(sim.store.batches) == 3
    assert sorted(b.metadata["batchgate_shard"] for b in sim.store.batches.values() if b.metadata) == ["0", "1", "2"]
    finished, state = await run_to_end(provider, job, state)
    assert finished.outcome == "completed"
    assert (finished.progress.total, finished.progress.completed, finished.progress.failed) == (25, 23, 2)
    results = await collect(provider, job, state)
    assert Counter(r["custom_id"] for r in results) == Counter(f"req-{i:05d}" for i in range(25))
    await provider.aclose()


async def test_byte_limit_keeps_every_upload_within_it(sim: BatchUpstream, blobs: DirBlobs) -> None:
    lines = input_lines(30)
    limit = 1000
    job = make_job(blobs, lines)
    provider = make_provider(sim, blobs, max_bytes_per_batch=limit)
    await provider.submit(job)
    uploads = [f for f in sim.store.files.values() if f.purpose == "batch"]
    assert len(uploads) == len(sim.store.batches) > 1
    assert all(f.bytes <= limit for f in uploads)
    uploaded = b"".join(sim.store.contents[f.id] for f in sorted(uploads, key=lambda f: f.filename))
    assert [msgspec.json.decode(x)["custom_id"] for x in uploaded.splitlines()] == [f"req-{i:05d}" for i in range(30)]
    await provider.aclose()


async def test_cancel_fans_out_to_every_shard(sim: BatchUpstream, blobs: DirBlobs) -> None:
    sim.options.hang = True
    job = make_job(blobs, input_lines(9))
    provider = make_provider(sim, blobs, max_requests_per_batch=3)
    state = await provider.submit(job)
    state = await provider.cancel(job, state)
    assert sim.recorder.calls["cancel"] == 3
    first, state = await provider.poll(job, state)
    if isinstance(first, Running):
        assert first.status == "cancelling"
    finished, state = await run_to_end(provider, job, state)
    assert isinstance(finished, Finished)
    assert finished.outcome == "cancelled"
    assert {b.status for b in sim.store.batches.values()} == {"cancelled"}
    results = await collect(provider, job, state)
    assert len({r["custom_id"] for r in results}) == len(results) <= 9
    await provider.aclose()
