"""Helpers for tests that walk the batch workflow: build JSONL lines, poll a batch, read it raw."""

from __future__ import annotations

import json
import time

import httpx
import openai

from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.schemas import assert_matches

MODEL = "scripted-model"


def line(custom_id: str, *, model: str = MODEL, url: str = "/v1/chat/completions") -> dict[str, object]:
    body = {"model": model, "messages": [{"role": "user", "content": f"hello {custom_id}"}], "max_tokens": 20}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def jsonl(lines: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in lines)


def raw_batch(served: GatewayServer, batch_id: str) -> dict[str, object]:
    response = httpx.get(
        f"{served.base_url}/batches/{batch_id}", headers={"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    )
    body: dict[str, object] = response.json()
    assert_matches("Batch", body)
    return body


def wait_for(sdk: openai.OpenAI, batch_id: str, statuses: set[str], timeout: float = 20) -> openai.types.Batch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in statuses:
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} stayed {batch.status}, wanted {statuses}")
