"""Cancel before any worker picked the batch up: `validating` goes straight to `cancelled` (nothing ran)."""

from __future__ import annotations

import openai
import pytest

from tests.support.workflow import jsonl, line


def test_cancel_while_validating_is_immediate_and_final(client: openai.OpenAI) -> None:
    upload = client.files.create(file=("v.jsonl", jsonl([line("a")])), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"  # this gateway runs no worker
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    assert cancelled.in_progress_at is None
    assert (cancelled.output_file_id, cancelled.error_file_id) == (None, None)
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)
    assert client.batches.retrieve(batch.id).status == "cancelled"
