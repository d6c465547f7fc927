"""Webhooks the way OpenAI sends them: tenant-registered endpoints, signed batch events, delivered at least
once from a queue in Redis that every worker shares.

Callers use: `enqueue_batch_event` (where a batch ends, after settlement), `Deliverer` (the worker's
delivery loop), `EndpointStore` and the wire objects (the HTTP edge), the guard and `send` (the `test` call).
"""

from gateway.webhooks.delivery import Deliverer, retry_delay_seconds
from gateway.webhooks.endpoints import EndpointStore
from gateway.webhooks.events import encode_event, enqueue_batch_event
from gateway.webhooks.guard import UnsafeUrlError, check_target, parse_target
from gateway.webhooks.queue import Delivery, DeliveryQueue
from gateway.webhooks.records import (
    BATCH_EVENT_TYPES,
    DeletedWebhookEndpoint,
    EndpointRecord,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointTestResult,
    WebhookEndpointWithSecret,
    WebhookEventTypeList,
)
from gateway.webhooks.sender import Attempt, open_client, send
from gateway.webhooks.signing import new_secret, secret_hint, signed_headers

__all__ = [
    "BATCH_EVENT_TYPES",
    "Attempt",
    "DeletedWebhookEndpoint",
    "Deliverer",
    "Delivery",
    "DeliveryQueue",
    "EndpointRecord",
    "EndpointStore",
    "UnsafeUrlError",
    "WebhookEndpointList",
    "WebhookEndpointObject",
    "WebhookEndpointTestResult",
    "WebhookEndpointWithSecret",
    "WebhookEventTypeList",
    "check_target",
    "encode_event",
    "enqueue_batch_event",
    "new_secret",
    "open_client",
    "parse_target",
    "retry_delay_seconds",
    "secret_hint",
    "send",
    "signed_headers",
]
