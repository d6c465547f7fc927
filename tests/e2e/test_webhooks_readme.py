"""The webhook receiver of docs/api.md, run as its own process: it verifies a signed event with the SDK's `unwrap`
and answers 200, and refuses a forged one with 400."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import Settings, WebhooksSettings
from tests.conftest import TENANT_KEYS
from tests.support.doc_snippets import the_snippet
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port


@pytest.fixture
def gateway_allowing_loopback(settings: Settings) -> Iterator[GatewayServer]:
    server = GatewayServer(msgspec.structs.replace(settings, webhooks=WebhooksSettings(allowed_hosts=["127.0.0.1"])))
    server.start()
    yield server
    server.stop()


def _wait_listening(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the docs' webhook receiver did not start")


def test_the_readme_receiver_verifies_events(gateway_allowing_loopback: GatewayServer, tmp_path: Path) -> None:
    receiver = the_snippet("webhook-receiver")
    assert receiver.language == "py"
    assert "unwrap" in receiver.text
    sdk = openai.OpenAI(base_url=gateway_allowing_loopback.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)
    port = free_port()
    endpoint = sdk.webhooks.create(name="readme", url=f"http://127.0.0.1:{port}/", event_types=["batch.completed"])
    env = {**os.environ, "PORT": str(port), "OPENAI_WEBHOOK_SECRET": endpoint.signing_secret}
    process = subprocess.Popen(
        [sys.executable, "-c", receiver.text],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(port, process)
        result = sdk.webhooks.test(endpoint.id, event_type="batch.completed")
        assert result.status_code == 200
        forged = {"webhook-id": "wh_x", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,Zm9yZ2Vk"}
        assert httpx.post(f"http://127.0.0.1:{port}/", content=b"{}", headers=forged).status_code == 400
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert stdout.splitlines() == ["batch.completed batch_test"], stderr
