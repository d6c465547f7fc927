"""Webhooks through the openai SDK: endpoints managed with `client.webhooks.*`, events for every terminal
batch verified by the SDK's `unwrap`, retries until the receiver answers 2xx, secret rotation with overlap,
`test`, tenant isolation and the SSRF guard."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import Settings, WebhooksSettings
from gateway.worker.providers import ProviderSet
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port
from tests.support.schemas import assert_matches
from tests.support.scripted_provider import ScriptedProvider
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.workflow import jsonl, line, wait_for

ALL_TYPES = ["batch.completed", "batch.failed", "batch.expired", "batch.cancelled"]
Sdk = openai.OpenAI


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=3) as server:
        yield server


@pytest.fixture
def hooked_settings(scripted_settings: Settings) -> Settings:
    """Loopback receivers allowed, and a retry schedule of tenths of a second."""
    webhooks = WebhooksSettings(allowed_hosts=["127.0.0.1"], first_retry_seconds=0.1, max_retry_seconds=0.3)
    return msgspec.structs.replace(scripted_settings, webhooks=webhooks)


@pytest.fixture
def hooked(hooked_settings: Settings, scripted: ScriptedProvider) -> Iterator[GatewayServer]:
    server = GatewayServer(hooked_settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def alpha(hooked: GatewayServer) -> Iterator[Sdk]:
    with openai.OpenAI(base_url=hooked.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
        yield client


@pytest.fixture
def beta(hooked: GatewayServer) -> Iterator[Sdk]:
    with openai.OpenAI(base_url=hooked.base_url, api_key=TENANT_KEYS["beta"], max_retries=0) as client:
        yield client


def _raw(server: GatewayServer, method: str, path: str, body: object = None) -> dict[str, object]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    response = httpx.request(method, f"{server.base_url}{path}", headers=headers, json=body)
    assert response.status_code == 200, response.text
    decoded: dict[str, object] = response.json()
    return decoded


def _batch(sdk: Sdk, ids: list[str], content: bytes | None = None) -> str:
    upload = sdk.files.create(file=("in.jsonl", content or jsonl([line(i) for i in ids])), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id


def test_endpoints_are_managed_with_the_sdk_and_the_secret_is_shown_only_twice(
    alpha: Sdk, beta: Sdk, hooked: GatewayServer, receiver: WebhookReceiver
) -> None:
    created = alpha.webhooks.create(name="ops", url=receiver.url, event_types=["batch.completed"])
    assert created.signing_secret.startswith("whsec_")
    assert created.signing_secret_hint is not None
    assert created.signing_secret.endswith(created.signing_secret_hint[-4:])
    assert_matches(
        "WebhookEndpointWithSecret",
        _raw(hooked, "POST", "/webhook_endpoints", {"name": "x", "url": receiver.url, "event_types": ALL_TYPES}),
    )

    fetched = _raw(hooked, "GET", f"/webhook_endpoints/{created.id}")
    assert_matches("WebhookEndpoint", fetched)
    assert "signing_secret" not in fetched
    assert created.signing_secret not in json.dumps(_raw(hooked, "GET", "/webhook_endpoints"))
    assert_matches("WebhookEndpointList", _raw(hooked, "GET", "/webhook_endpoints"))
    assert [e.id for e in alpha.webhooks.list()][-1] == created.id, "newest first"
    assert_matches("WebhookEventTypeList", _raw(hooked, "GET", "/webhook_event_types"))

    updated = alpha.webhooks.update(created.id, name="ops-2", event_types=["batch.failed", "batch.completed"])
    assert (updated.name, updated.event_types) == ("ops-2", ["batch.failed", "batch.completed"])
    assert alpha.webhooks.retrieve(created.id).name == "ops-2"

    rotated = alpha.webhooks.rotate_secret(created.id)
    assert rotated.signing_secret not in (created.signing_secret, "")
    assert_matches(
        "WebhookEndpointWithSecret", _raw(hooked, "POST", f"/webhook_endpoints/{created.id}/rotate_secret", {})
    )

    for call in (
        lambda: beta.webhooks.retrieve(created.id),
        lambda: beta.webhooks.update(created.id, name="mine"),
        lambda: beta.webhooks.rotate_secret(created.id),
        lambda: beta.webhooks.test(created.id, event_type="batch.completed"),
        lambda: beta.webhooks.delete(created.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert list(beta.webhooks.list()) == []

    deleted = alpha.webhooks.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "webhook_endpoint.deleted")
    with pytest.raises(openai.NotFoundError):
        alpha.webhooks.retrieve(created.id)


def test_internal_urls_and_bad_parameters_are_refused(client: Sdk, alpha: Sdk, receiver: WebhookReceiver) -> None:
    # `client` talks to a gateway with no [webhooks] allowed_hosts; `alpha` to one allowing 127.0.0.1.
    for url in (
        "https://127.0.0.1/hook",
        receiver.url,
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/h",
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.webhooks.create(name="x", url=url, event_types=["batch.completed"])
        assert refused.value.code in {"invalid_url"}
    created = alpha.webhooks.create(name="x", url=receiver.url, event_types=["batch.completed"])
    with pytest.raises(openai.BadRequestError, match="metadata"):
        alpha.webhooks.update(created.id, url="https://169.254.169.254/latest/meta-data/")
    assert alpha.webhooks.retrieve(created.id).url == receiver.url
    with pytest.raises(openai.BadRequestError, match="Unsupported event type"):
        alpha.webhooks.create(name="x", url=receiver.url, event_types=["response.completed"])
    with pytest.raises(openai.BadRequestError):
        alpha.webhooks.create(name="x", url=receiver.url, event_types=[])
    with pytest.raises(openai.BadRequestError, match="https"):
        alpha.webhooks.create(name="x", url="http://8.8.8.8/hook", event_types=["batch.completed"])


def test_test_reports_the_status_code_and_rotation_keeps_the_old_secret_for_the_overlap(
    alpha: Sdk, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 1
    created = alpha.webhooks.create(name="x", url=receiver.url, event_types=["batch.completed"])
    assert alpha.webhooks.test(created.id, event_type="batch.cancelled").status_code == 500
    receiver.fail_first = 0
    result = alpha.webhooks.test(created.id, event_type="batch.cancelled")
    assert (result.status_code, result.success, result.webhook_endpoint_id) == (200, True, created.id)
    assert_matches("WebhookEndpointTestResult", result.model_dump())
    for received in receiver.received:
        event = alpha.webhooks.unwrap(received.body, received.headers, secret=created.signing_secret)
        assert event.type == "batch.cancelled"

    # Rotation: with the overlap both secrets sign; without it only the newest.
    kept = alpha.webhooks.rotate_secret(created.id, keep_old_secret_active_for_24_hours=True)
    alpha.webhooks.test(created.id, event_type="batch.completed")
    received = receiver.received[-1]
    for secret in (created.signing_secret, kept.signing_secret):
        alpha.webhooks.verify_signature(received.body, received.headers, secret=secret)

    revoked = alpha.webhooks.rotate_secret(created.id)  # no overlap: only the newest secret signs
    alpha.webhooks.test(created.id, event_type="batch.completed")
    received = receiver.received[-1]
    alpha.webhooks.verify_signature(received.body, received.headers, secret=revoked.signing_secret)
    for secret in (created.signing_secret, kept.signing_secret):
        with pytest.raises(openai.InvalidWebhookSignatureError):
            alpha.webhooks.verify_signature(received.body, received.headers, secret=secret)

    nobody = alpha.webhooks.create(name="y", url=f"http://127.0.0.1:{free_port()}/", event_types=["batch.failed"])
    with pytest.raises(openai.BadRequestError) as unreachable:  # no answer at all: a 400 naming why, never a 5xx
        alpha.webhooks.test(nobody.id, event_type="batch.failed")
    assert unreachable.value.code == "webhook_delivery_failed"


def test_every_terminal_batch_gets_exactly_one_verified_event(
    alpha: Sdk, beta: Sdk, scripted: ScriptedProvider, receiver: WebhookReceiver
) -> None:
    """The receiver answers 500 three times per delivery, then 200; each batch ends in another status."""
    endpoint = alpha.webhooks.create(name="all", url=receiver.url, event_types=ALL_TYPES)
    beta.webhooks.create(name="beta's", url=receiver.url, event_types=ALL_TYPES)  # beta's batches only

    expected = {_batch(alpha, ["a", "b"]): "batch.completed"}
    expected[_batch(alpha, [], content=b"not json\n")] = "batch.failed"
    for batch_id in list(expected):
        wait_for(alpha, batch_id, {"completed", "failed"})
    scripted.finish_as = "expired"
    expired = _batch(alpha, ["c"])
    wait_for(alpha, expired, {"expired"})
    expected[expired] = "batch.expired"
    scripted.finish_as, scripted.hold = "completed", True
    cancelled = _batch(alpha, ["d", "e"])
    wait_for(alpha, cancelled, {"in_progress"})
    alpha.batches.cancel(cancelled)
    wait_for(alpha, cancelled, {"cancelled"})
    expected[cancelled] = "batch.cancelled"

    delivered = receiver.wait_delivered(len(expected))
    time.sleep(1.0)  # a duplicate would arrive within a few retry intervals
    assert len(receiver.delivered()) == len(expected)
    events = {}
    for received in delivered:
        event = alpha.webhooks.unwrap(received.body, received.headers, secret=endpoint.signing_secret)
        assert_matches("BatchWebhookEvent", json.loads(received.body))
        events[event.data.id] = event.type
    assert events == expected
    attempts = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert sorted(attempts.values()) == [4] * len(expected), "three 500s, then the 200 that ends it"


def test_delivery_goes_on_after_the_gateway_and_its_worker_restart(
    hooked: GatewayServer, hooked_settings: Settings, scripted: ScriptedProvider, alpha: Sdk
) -> None:
    """In-process and graceful (the SIGKILL variant with processes is test_webhooks_restart.py, slow)."""
    with WebhookReceiver(fail_first=3) as receiver:
        endpoint = alpha.webhooks.create(name="x", url=receiver.url, event_types=["batch.completed"])
        webhooks = msgspec.structs.replace(hooked_settings.webhooks, first_retry_seconds=1.0, max_retry_seconds=1.0)
        hooked.stop()
        slow_retries = msgspec.structs.replace(hooked_settings, webhooks=webhooks)
        first = GatewayServer(slow_retries, run_worker=True, providers=ProviderSet({"scripted": scripted}))
        first.start()
        with openai.OpenAI(base_url=first.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as sdk:
            batch_id = _batch(sdk, ["a"])
            wait_for(sdk, batch_id, {"completed"})
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        first.stop()  # the next attempt is a second away: the queue in Redis holds it
        restarted_at = time.time()
        assert [r.status for r in receiver.received] == [500]
        second = GatewayServer(hooked_settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
        second.start()
        try:
            [delivered] = receiver.wait_delivered(1)
        finally:
            second.stop()
    assert [r.status for r in receiver.received] == [500, 500, 500, 200]
    assert all(r.at > restarted_at for r in receiver.received[1:])
    event = alpha.webhooks.unwrap(delivered.body, delivered.headers, secret=endpoint.signing_secret)
    assert (event.type, event.data.id) == ("batch.completed", batch_id)
