"""Our signatures as the openai SDK verifies them (`webhooks.verify_signature` / `unwrap`)."""

from __future__ import annotations

import time

import openai
import pytest

from gateway.webhooks import encode_event, new_secret, secret_hint, signed_headers
from gateway.webhooks.records import EndpointRecord

SDK = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")


def test_the_sdk_unwraps_a_signed_event() -> None:
    secret = new_secret()
    body = encode_event("batch.completed", "batch_abc", 1_700_000_000)
    headers = signed_headers("wh_1", int(time.time()), body, [secret])
    event = SDK.webhooks.unwrap(body, headers, secret=secret)
    assert event.type == "batch.completed"
    assert event.data.id == "batch_abc"
    assert event.object == "event"
    assert event.id.startswith("evt_")


@pytest.mark.parametrize("verifying", [0, 1])
def test_two_secrets_sign_during_a_rotation_and_each_verifies(verifying: int) -> None:
    secrets = [new_secret(), new_secret()]
    body = encode_event("batch.failed", "batch_abc", 1)
    headers = signed_headers("wh_2", int(time.time()), body, secrets)
    assert len(headers["webhook-signature"].split()) == 2
    SDK.webhooks.verify_signature(body, headers, secret=secrets[verifying])


def test_a_tampered_body_a_stale_timestamp_and_another_secret_fail() -> None:
    secret = new_secret()
    body = encode_event("batch.expired", "batch_abc", 1)
    headers = signed_headers("wh_3", int(time.time()), body, [secret])
    with pytest.raises(openai.InvalidWebhookSignatureError):
        SDK.webhooks.verify_signature(body.replace(b"batch_abc", b"batch_xyz"), headers, secret=secret)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        SDK.webhooks.verify_signature(body, headers, secret=new_secret())
    stale = signed_headers("wh_3", int(time.time()) - 3600, body, [secret])
    with pytest.raises(openai.InvalidWebhookSignatureError):
        SDK.webhooks.verify_signature(body, stale, secret=secret)


def test_the_old_secret_signs_only_until_its_overlap_ends() -> None:
    record = EndpointRecord(
        id="we_1",
        tenant="t",
        name="n",
        url="https://example.com",
        event_types=("batch.completed",),
        created_at=0,
        updated_at=0,
        secret="whsec_new",
        old_secret="whsec_old",
        old_secret_until=1000,
    )
    assert record.signing_secrets(999) == ["whsec_new", "whsec_old"]
    assert record.signing_secrets(1000) == ["whsec_new"]


def test_a_hint_does_not_reveal_the_secret() -> None:
    secret = new_secret()
    hint = secret_hint(secret)
    assert hint.endswith(secret[-4:])
    assert secret[6:-4] not in hint
