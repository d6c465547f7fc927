"""`/v1/webhook_endpoints`: OpenAI's Webhook Endpoints API (the SDK's `client.webhooks.*`), per tenant.

The signing secret is answered only by create and rotate_secret; every other answer carries its hint.
"""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.core.errors import InvalidRequest, NotFound
from gateway.core.ids import new_event_id, new_webhook_endpoint_id, new_webhook_id
from gateway.http.auth import Principal
from gateway.http.deps import Cursor, PrincipalDep, ServicesDep
from gateway.http.openapi import error_responses
from gateway.services import Services
from gateway.webhooks import (
    BATCH_EVENT_TYPES,
    DeletedWebhookEndpoint,
    EndpointRecord,
    EndpointStore,
    UnsafeUrlError,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointTestResult,
    WebhookEndpointWithSecret,
    WebhookEventTypeList,
    check_target,
    encode_event,
    new_secret,
    open_client,
    parse_target,
    secret_hint,
    send,
)

__all__ = ["WebhookEndpointsController", "webhook_event_types"]

OLD_SECRET_OVERLAP_SECONDS = 24 * 3600
TEST_BATCH_ID = "batch_test"  # the `data.id` of a test event: no batch has it
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
EventTypes = Annotated[list[str], msgspec.Meta(min_length=1, max_length=len(BATCH_EVENT_TYPES))]


class CreateWebhookEndpoint(msgspec.Struct, kw_only=True):
    name: Name
    url: Url
    event_types: EventTypes


class UpdateWebhookEndpoint(msgspec.Struct, kw_only=True):
    name: Name | None = None
    url: Url | None = None
    event_types: EventTypes | None = None


class RotateSecret(msgspec.Struct, kw_only=True):
    keep_old_secret_active_for_24_hours: bool = False


class SendTestEvent(msgspec.Struct, kw_only=True):
    event_type: str


def _not_found(endpoint_id: str) -> NotFound:
    return NotFound(f"No webhook endpoint found with id '{endpoint_id}'.", param="webhook_endpoint_id")


def _event_types(requested: list[str]) -> tuple[str, ...]:
    unknown = [t for t in requested if t not in BATCH_EVENT_TYPES]
    if unknown:
        message = f"Unsupported event type {unknown[0]!r}: batchgate sends {', '.join(BATCH_EVENT_TYPES)}."
        raise InvalidRequest(message, param="event_types", code="invalid_value")
    return tuple(dict.fromkeys(requested))


async def _checked_url(services: Services, url: str) -> str:
    try:
        await check_target(parse_target(url, services.settings.webhooks.allowed_hosts))
    except UnsafeUrlError as exc:
        raise InvalidRequest(str(exc), param="url", code="invalid_url") from None
    return url


def _wire(record: EndpointRecord) -> WebhookEndpointObject:
    return WebhookEndpointObject(
        id=record.id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        name=record.name,
        url=record.url,
        event_types=list(record.event_types),
        signing_secret_hint=secret_hint(record.secret),
    )


def _with_secret(record: EndpointRecord) -> WebhookEndpointWithSecret:
    fields = msgspec.structs.asdict(_wire(record))
    return WebhookEndpointWithSecret(**fields, signing_secret=record.secret)


async def _owned(services: Services, principal: Principal, endpoint_id: str) -> EndpointRecord:
    record = await EndpointStore(services.redis).get(endpoint_id, tenant=principal.tenant)
    if record is None:
        raise _not_found(endpoint_id)
    return record


class WebhookEndpointsController(Controller):
    path = "/v1/webhook_endpoints"

    @post("/", status_code=200, responses=error_responses())
    async def create(
        self, data: JSONBody[CreateWebhookEndpoint], services: ServicesDep, principal: PrincipalDep
    ) -> WebhookEndpointWithSecret:
        now = int(time.time())
        record = EndpointRecord(
            id=new_webhook_endpoint_id(),
            tenant=principal.tenant,
            name=data.name,
            url=await _checked_url(services, data.url),
            event_types=_event_types(data.event_types),
            created_at=now,
            updated_at=now,
            secret=new_secret(),
        )
        limit = services.settings.webhooks.max_endpoints_per_tenant
        if not await EndpointStore(services.redis).create(record, limit=limit):
            message = f"Too many webhook endpoints: at most {limit} per tenant. Delete one first."
            raise InvalidRequest(message, code="too_many_webhook_endpoints")  # permanent: no retryable 429
        return _with_secret(record)

    @get("/", responses=error_responses())
    async def list_endpoints(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        after: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> WebhookEndpointList:
        records, has_more = await EndpointStore(services.redis).list_page(principal.tenant, after=after, limit=limit)
        return WebhookEndpointList.of(map(_wire, records), has_more)

    @get("/{webhook_endpoint_id:str}", responses=error_responses(404))
    async def retrieve(
        self, webhook_endpoint_id: FromPath[str], services: ServicesDep, principal: PrincipalDep
    ) -> WebhookEndpointObject:
        return _wire(await _owned(services, principal, webhook_endpoint_id))

    @post("/{webhook_endpoint_id:str}", status_code=200, responses=error_responses(404))
    async def update(
        self,
        webhook_endpoint_id: FromPath[str],
        data: JSONBody[UpdateWebhookEndpoint],
        services: ServicesDep,
        principal: PrincipalDep,
    ) -> WebhookEndpointObject:
        current = await _owned(services, principal, webhook_endpoint_id)
        fields: dict[str, str] = {}
        if data.name is not None and data.name != current.name:
            fields["name"] = data.name
        if data.url is not None and data.url != current.url:
            fields["url"] = await _checked_url(services, data.url)
        event_types = None if data.event_types is None else _event_types(data.event_types)
        if event_types is not None and event_types != current.event_types:
            fields["event_types"] = ",".join(event_types)
        if not fields:  # an unchanged update does not advance updated_at (OpenAI's meaning)
            return _wire(current)
        fields["updated_at"] = str(int(time.time()))
        updated = await EndpointStore(services.redis).update(webhook_endpoint_id, principal.tenant, fields)
        if updated is None:
            raise _not_found(webhook_endpoint_id)
        return _wire(updated)

    @delete("/{webhook_endpoint_id:str}", status_code=200, responses=error_responses(404))
    async def delete_endpoint(
        self, webhook_endpoint_id: FromPath[str], services: ServicesDep, principal: PrincipalDep
    ) -> DeletedWebhookEndpoint:
        if not await EndpointStore(services.redis).delete(webhook_endpoint_id, principal.tenant):
            raise _not_found(webhook_endpoint_id)
        return DeletedWebhookEndpoint(id=webhook_endpoint_id)

    @post("/{webhook_endpoint_id:str}/rotate_secret", status_code=200, responses=error_responses(404))
    async def rotate_secret(
        self,
        webhook_endpoint_id: FromPath[str],
        services: ServicesDep,
        principal: PrincipalDep,
        data: JSONBody[RotateSecret | None] = None,
    ) -> WebhookEndpointWithSecret:
        now = int(time.time())
        keep = data is not None and data.keep_old_secret_active_for_24_hours
        rotated = await EndpointStore(services.redis).rotate(
            webhook_endpoint_id,
            principal.tenant,
            secret=new_secret(),
            old_valid_until=now + OLD_SECRET_OVERLAP_SECONDS if keep else 0,
            now=now,
        )
        if rotated is None:
            raise _not_found(webhook_endpoint_id)
        return _with_secret(rotated)

    @post("/{webhook_endpoint_id:str}/test", status_code=200, responses=error_responses(404))
    async def test(
        self,
        webhook_endpoint_id: FromPath[str],
        data: JSONBody[SendTestEvent],
        services: ServicesDep,
        principal: PrincipalDep,
    ) -> WebhookEndpointTestResult:
        if data.event_type not in BATCH_EVENT_TYPES:
            message = f"Unsupported event type {data.event_type!r}: batchgate sends {', '.join(BATCH_EVENT_TYPES)}."
            raise InvalidRequest(message, param="event_type", code="invalid_value")
        record = await _owned(services, principal, webhook_endpoint_id)
        settings = services.settings.webhooks
        body = encode_event(data.event_type, TEST_BATCH_ID, int(time.time()), new_event_id())
        async with open_client(settings.timeout_seconds) as http:
            attempt = await send(
                http,
                record,
                new_webhook_id(),
                body,
                allowed_hosts=settings.allowed_hosts,
                timeout_seconds=settings.timeout_seconds,
            )
        if attempt.status_code is None:
            message = f"The test event could not be delivered: {attempt.error}."
            raise InvalidRequest(message, param="webhook_endpoint_id", code="webhook_delivery_failed")
        return WebhookEndpointTestResult(
            webhook_endpoint_id=record.id, event_type=data.event_type, status_code=attempt.status_code
        )


@get("/v1/webhook_event_types", responses=error_responses(), sync_to_thread=False)
def webhook_event_types(principal: PrincipalDep) -> WebhookEventTypeList:
    return WebhookEventTypeList(data=list(BATCH_EVENT_TYPES))
