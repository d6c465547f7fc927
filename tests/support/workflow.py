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


def chunked_upload_head(tenant: str, filename: str) -> tuple[bytes, bytes]:
    """A hand-written `POST /v1/files` for tests that stream or stall a body: the HTTP head (chunked, no
    Content-Length) and the multipart preamble up to the file's first byte (boundary `b`, purpose batch)."""
    http_head = (
        b"POST /v1/files HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n"
        + f"authorization: Bearer {TENANT_KEYS[tenant]}\r\n".encode()
        + b"content-type: multipart/form-data; boundary=b\r\n\r\n"
    )
    preamble = b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    preamble += f'--b\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'.encode()
    return http_head, preamble


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
