"""Expiry with a shortened completion window (`batches.window_seconds`), end to end through the SDK."""

from __future__ import annotations

import json

import msgspec
import openai
import pytest

from gateway.config.settings import Settings
from tests.support.gateway_server import GatewayServer
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import jsonl, line, wait_for

WINDOW_SECONDS = 3


@pytest.fixture
def scripted_settings(scripted_settings: Settings) -> Settings:
    batches = msgspec.structs.replace(scripted_settings.batches, window_seconds=WINDOW_SECONDS)
    return msgspec.structs.replace(scripted_settings, batches=batches)


def test_expiry_keeps_finished_results_and_reports_the_rest(
    sdk: openai.OpenAI, served: GatewayServer, scripted: ScriptedProvider
) -> None:
    """With a shortened window, a batch still running expires: finished lines kept, the rest `batch_expired`."""
    scripted.hold = True
    ids = [f"e{i}" for i in range(4)]
    upload = sdk.files.create(file=("e.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.expires_at == batch.created_at + served.settings.batches.window_seconds
    done = wait_for(sdk, batch.id, {"expired", "completed", "failed", "cancelled"}, timeout=30)
    assert done.status == "expired"
    assert done.expired_at is not None
    output = [json.loads(x)["custom_id"] for x in sdk.files.content(done.output_file_id or "").text.splitlines()]
    errors = [json.loads(x) for x in sdk.files.content(done.error_file_id or "").text.splitlines()]
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert sorted(output + [e["custom_id"] for e in errors]) == sorted(ids)
    assert scripted.cancels == [batch.id], "the provider is told to stop when the window ends"
