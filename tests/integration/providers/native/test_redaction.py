"""An upstream that quotes the key back in an error body must not put it into the tenant's error file."""

from __future__ import annotations

from typing import Any

import msgspec

from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream


async def test_echoed_key_is_redacted_from_error_lines(
    make_provider: Any, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    upstream.faults["line-0"] = ["echo401"]
    provider = make_provider()
    job = await make_job(blobs, 2)
    state = await provider.submit(job)
    async with running(provider):
        await poll_until_finished(provider, job, state)
    lines = await results(provider, job, state)
    text = msgspec.json.encode(lines)
    assert b"sk-upstream-secret" not in text
    [failed] = [line for line in lines if line["custom_id"] == "c0"]
    assert failed["response"]["status_code"] == 401  # type: ignore[index]
    assert "<redacted>" in failed["response"]["body"]["error"]["message"]  # type: ignore[index]
