"""submit → poll → fetch_results against both flavours of the simulated upstream."""

from __future__ import annotations

from collections import Counter

from providers.base import Running
from tests.integration.providers.openai_batch.helpers import (
    API_KEY,
    collect,
    input_lines,
    make_job,
    make_provider,
    run_to_end,
)
from tests.support.batch_upstream import BatchUpstream
from tests.support.blobs import DirBlobs


def _usage_sums(results: list[dict[str, object]]) -> tuple[int, int, int]:
    prompt = cached = completion = 0
    for line in results:
        response = line.get("response")
        if not isinstance(response, dict) or response["status_code"] != 200:
            continue
        usage = response["body"]["usage"]
        prompt += usage["prompt_tokens"]
        completion += usage["completion_tokens"]
        cached += usage.get("prompt_cache_hit_tokens", usage.get("prompt_tokens_details", {}).get("cached_tokens", 0))
    return prompt, cached, completion


async def test_every_custom_id_once_with_upstream_usage(sim: BatchUpstream, blobs: DirBlobs) -> None:
    sim.options.failed_custom_ids = ["req-00003", "req-00007"]
    lines = input_lines(40)
    job = make_job(blobs, lines)
    provider = make_provider(sim, blobs)
    state = await provider.submit(job)
    first, state = await provider.poll(job, state)
    assert isinstance(first, Running)
    finished, state = await run_to_end(provider, job, state)
    assert finished.outcome == "completed"
    assert (finished.progress.total, finished.progress.completed, finished.progress.failed) == (40, 38, 2)

    results = await collect(provider, job, state)
    assert Counter(r["custom_id"] for r in results) == Counter(f"req-{i:05d}" for i in range(40))
    errors = {r["custom_id"] for r in results if r["response"]["status_code"] != 200}  # type: ignore[index]
    assert errors == {"req-00003", "req-00007"}
    (upstream_batch,) = sim.store.batches.values()
    usage = upstream_batch.usage
    assert usage is not None
    assert _usage_sums(results) == (
        usage.input_tokens,
        usage.input_tokens_details["cached_tokens"],
        usage.output_tokens,
    )
    assert sim.store.models_seen[upstream_batch.id] == {"up-model"}
    assert set(sim.recorder.authorizations) == {f"Bearer {API_KEY}"}
    await provider.aclose()


async def test_output_is_shuffled_and_kept_verbatim(sim: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(30))
    provider = make_provider(sim, blobs)
    _, state = await run_to_end(provider, job, await provider.submit(job))
    raw = [line async for line in provider.fetch_results(job, state)]
    (upstream_batch,) = sim.store.batches.values()
    assert upstream_batch.output_file_id is not None
    upstream_lines = sim.store.contents[upstream_batch.output_file_id].splitlines()
    assert raw == upstream_lines  # byte for byte, in the upstream's (shuffled) order
    assert raw != sorted(raw)
    await provider.aclose()


async def test_lines_pass_untouched_when_the_model_needs_no_rewrite(sim: BatchUpstream, blobs: DirBlobs) -> None:
    lines = input_lines(5)
    job = make_job(blobs, lines, upstream_model="client-model")
    provider = make_provider(sim, blobs)
    await provider.submit(job)
    (upstream_batch,) = sim.store.batches.values()
    assert sim.store.contents[upstream_batch.input_file_id] == b"".join(line + b"\n" for line in lines)
    assert upstream_batch.metadata == {
        "batchgate_batch_id": "batch_gw1",
        "batchgate_shard": "0",
        "batchgate_shards": "1",
    }
    await provider.aclose()


async def test_cleanup_deletes_upstream_files_when_asked(sim: BatchUpstream, blobs: DirBlobs) -> None:
    job = make_job(blobs, input_lines(4))
    provider = make_provider(sim, blobs, delete_upstream_files=True)
    _, state = await run_to_end(provider, job, await provider.submit(job))
    assert len(sim.store.files) == 2  # input and output
    await provider.cleanup(job, state)
    assert sim.store.files == {}
    await provider.aclose()
