"""`/v1/batches`: create, retrieve, list, cancel — wire-exact with OpenAI (spec §1.7–1.10)."""

from __future__ import annotations

import time
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from accounting.tags import InvalidTagError, check_tags
from gateway.batches import (
    TERMINAL,
    BatchList,
    BatchObject,
    BatchRecord,
    BatchStatus,
    IllegalTransitionError,
    TooManyBatchesInFlightError,
    to_list,
    to_wire,
)
from gateway.batches.live import with_live_counts
from gateway.core.errors import InvalidRequest, NotFound, RateLimited
from gateway.core.ids import new_batch_id
from gateway.http.auth import Principal
from gateway.http.batch_endpoint import check_endpoint_served
from gateway.http.batch_requests import CreateBatchRequest, decode_create_request
from gateway.http.bodies import read_body
from gateway.http.deps import Cursor, PrincipalDep, ServicesDep
from gateway.http.openapi import CreateBatchOperation, error_responses
from gateway.services import Services

__all__ = ["BatchesController"]

_MAX_CREATE_BODY = 64 * 1024
IN_FLIGHT_RETRY_AFTER_SECONDS = 30


def _not_found(batch_id: str) -> NotFound:
    return NotFound(f"No batch found with id '{batch_id}'.", param="batch_id")


async def _owned_batch(services: Services, principal: Principal, batch_id: str) -> BatchRecord:
    record = await services.batches.get(batch_id, tenant=principal.tenant)
    if record is None:
        raise _not_found(batch_id)
    return record


def _check_tags(params: CreateBatchRequest, services: Services) -> None:
    """An invalid cost allocation tag value is refused now, not silently folded into `untagged` later."""
    try:
        check_tags(params.metadata, services.settings.accounting.tag_keys)
    except InvalidTagError as exc:
        raise InvalidRequest(str(exc), param=f"metadata.{exc.key}", code="invalid_value") from None


class BatchesController(Controller):
    path = "/v1/batches"

    @post(
        "/",
        status_code=200,
        request_max_body_size=_MAX_CREATE_BODY,
        operation_class=CreateBatchOperation,
        responses=error_responses(404, 413),
    )
    async def create(
        self, request: Request[object, object, State], services: ServicesDep, principal: PrincipalDep
    ) -> BatchObject:
        params = decode_create_request(await read_body(request))
        _check_tags(params, services)
        record = await _new_record(services, principal, params)
        limit = services.settings.limits.max_batches_in_flight_per_tenant
        try:
            await services.batches.create(record, max_in_flight=limit)
        except TooManyBatchesInFlightError:
            raise RateLimited(
                f"Too many batches in flight: at most {limit} unfinished batches per tenant. "
                "Retry when one has finished.",
                code="too_many_batches_in_flight",
                headers={"retry-after": str(IN_FLIGHT_RETRY_AFTER_SECONDS)},
            ) from None
        # If this process dies right here, the worker's resync sweep schedules the batch.
        await services.schedule.add(record.id, int(time.time() * 1000))
        return to_wire(record)

    @get("/", responses=error_responses())
    async def list_batches(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        after: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> BatchList:
        records, has_more = await services.batches.list(principal.tenant, after=after, limit=limit)
        return to_list(records, has_more)

    @get("/{batch_id:str}", responses=error_responses(404))
    async def retrieve(self, batch_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> BatchObject:
        record = await _owned_batch(services, principal, batch_id)
        return to_wire(await with_live_counts(record, services.settings, services.redis))

    @post("/{batch_id:str}/cancel", status_code=200, responses=error_responses(404))
    async def cancel(self, batch_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> BatchObject:
        # The SDK sends an empty body with a JSON content type; this handler never reads the body.
        record = await _owned_batch(services, principal, batch_id)
        return to_wire(await _cancel(services, record))


async def _new_record(services: Services, principal: Principal, params: CreateBatchRequest) -> BatchRecord:
    input_file = await services.files.get(params.input_file_id, tenant=principal.tenant)
    if input_file is None:
        raise NotFound(f"No such File object: {params.input_file_id}", param="input_file_id")
    if input_file.purpose != "batch":
        message = f"File {params.input_file_id} was uploaded with purpose {input_file.purpose!r}, not 'batch'."
        raise InvalidRequest(message, param="input_file_id", code="invalid_value")
    await check_endpoint_served(services, params.endpoint, input_file)
    now = int(time.time())
    return BatchRecord(
        id=new_batch_id(),
        tenant=principal.tenant,
        endpoint=params.endpoint,
        input_file_id=params.input_file_id,
        created_at=now,
        completion_window=params.completion_window,
        expires_at=now + services.settings.batches.window_seconds,
        metadata=params.metadata,
        input_bytes=input_file.bytes,
        output_expires_after_seconds=params.output_expires_after.seconds if params.output_expires_after else None,
    )


async def _cancel(services: Services, record: BatchRecord) -> BatchRecord:
    """Any live batch → cancelling (a worker then writes a `batch_cancelled` line for every request that did not
    run, even when nothing ran, and moves it to cancelled); already cancelling → as is; terminal → 400."""
    now = int(time.time())
    for _ in range(3):  # the status may move under us; each attempt re-reads it
        if record.status in TERMINAL:
            raise InvalidRequest(
                f"Cannot cancel batch {record.id}: it is already {record.status.value}.", code="batch_not_cancellable"
            )
        if record.status is BatchStatus.CANCELLING:
            return record
        try:
            updated = await services.batches.transition(
                record.id, BatchStatus.CANCELLING, cause="cancel requested", now=now, updates={"cancel_requested": True}
            )
        except IllegalTransitionError:
            updated = None
        if updated is not None:
            # A worker forwards the cancel upstream (or, if nothing was routed yet, reports every line).
            await services.schedule.add(record.id, now * 1000)
            return updated
        fresh = await services.batches.get(record.id, tenant=record.tenant)
        if fresh is None:
            raise _not_found(record.id)
        record = fresh
    return record
