"""Webhook endpoints as stored in Redis, and the wire objects of OpenAI's Webhook Endpoints API.

The stored record holds the signing secrets; the wire objects carry `signing_secret` only in the answers to
create and rotate (`WebhookEndpointWithSecret`) and a masked `signing_secret_hint` everywhere else.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from gateway.core.page import Page

__all__ = [
    "BATCH_EVENT_TYPES",
    "DeletedWebhookEndpoint",
    "EndpointRecord",
    "WebhookEndpointList",
    "WebhookEndpointObject",
    "WebhookEndpointTestResult",
    "WebhookEndpointWithSecret",
    "WebhookEventTypeList",
    "decode_record",
    "encode_record",
]

# The events batchgate sends: one per batch reaching a terminal status (and settled).
BATCH_EVENT_TYPES: tuple[str, ...] = ("batch.completed", "batch.failed", "batch.expired", "batch.cancelled")


class EndpointRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    tenant: str
    name: str
    url: str
    event_types: tuple[str, ...]
    created_at: int
    updated_at: int
    secret: str
    # During a rotation with `keep_old_secret_active_for_24_hours`, the previous secret signs too until then.
    old_secret: str = ""
    old_secret_until: int = 0

    def signing_secrets(self, now: int) -> list[str]:
        """The secrets every delivery is signed with now: the current one, and the previous one while it lasts."""
        if self.old_secret and now < self.old_secret_until:
            return [self.secret, self.old_secret]
        return [self.secret]


class WebhookEndpointObject(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: int
    updated_at: int
    name: str
    url: str
    event_types: list[str]
    signing_secret_hint: str


class WebhookEndpointWithSecret(WebhookEndpointObject, kw_only=True):
    signing_secret: str


class WebhookEndpointList(Page[WebhookEndpointObject], frozen=True, kw_only=True):
    data: list[WebhookEndpointObject]  # named again for the OpenAPI schema (Litestar leaves T of a subclass unresolved)


class DeletedWebhookEndpoint(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: Literal["webhook_endpoint.deleted"] = "webhook_endpoint.deleted"
    deleted: bool = True


class WebhookEndpointTestResult(msgspec.Struct, kw_only=True, omit_defaults=False):
    object: Literal["webhook_endpoint.test"] = "webhook_endpoint.test"
    webhook_endpoint_id: str
    event_type: str
    # The receiver's HTTP status; `success` only says the request was made (OpenAI's meaning).
    status_code: int
    success: Literal[True] = True


class WebhookEventTypeList(msgspec.Struct, kw_only=True, omit_defaults=False):
    object: Literal["list"] = "list"
    data: list[str]


# Stored as a Redis hash of plain strings (scripts rotate and update single fields), `event_types`
# comma-joined: no event type contains a comma.
def encode_record(record: EndpointRecord) -> dict[str, str]:
    fields = msgspec.structs.asdict(record)
    fields["event_types"] = ",".join(record.event_types)
    return {name: str(value) for name, value in fields.items()}


def decode_record(raw: dict[bytes, bytes]) -> EndpointRecord:
    fields: dict[str, object] = {key.decode(): value.decode() for key, value in raw.items()}
    fields["event_types"] = tuple(t for t in str(fields.get("event_types", "")).split(",") if t)
    return msgspec.convert(fields, EndpointRecord, strict=False)
