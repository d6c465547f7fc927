"""Cancel before any worker routed the batch: it goes to `cancelling`, and the next worker step reports every
request as `batch_cancelled` and ends it `cancelled` — every custom_id exactly once, as for any terminal batch."""

from __future__ import annotations

import json

import openai
import pytest

from tests.support.gateway_server import GatewayServer
from tests.support.workflow import jsonl, line, wait_for


def test_cancel_while_validating_reports_every_line(client: openai.OpenAI, gateway: GatewayServer) -> None:
    ids = ["a", "b", "c"]
    upload = client.files.create(file=("v.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"  # this gateway runs no worker
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at is not None
    assert client.batches.cancel(batch.id).status == "cancelling"  # repeating the cancel is harmless

    worker = GatewayServer(gateway.settings, run_worker=True)  # a worker joins on the same Redis and storage
    worker.start()
    try:
        done = wait_for(client, batch.id, {"cancelled", "completed", "failed", "expired"})
    finally:
        worker.stop()
    assert done.status == "cancelled"
    assert done.in_progress_at is None
    assert done.output_file_id is None
    errors = [json.loads(x) for x in client.files.content(done.error_file_id or "").text.splitlines()]
    assert sorted(e["custom_id"] for e in errors) == ids
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.failed) == (3, 3)
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)
