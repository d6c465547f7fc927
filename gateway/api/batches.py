"""Create and cancel a batch: the rules of `POST /v1/batches` and `.../cancel`, free of any web framework.

The HTTP controller decodes the request and renders the result; everything between (ownership, the input
file, the endpoint's routes, tags, the in-flight limit, the state machine, scheduling) is here.
"""

from __future__ import annotations

import time

from accounting.tags import InvalidTagError, check_tags
from gateway.api.endpoint_check import check_endpoint_served
from gateway.batches.create_request import CreateBatchRequest
from gateway.batches.records import BatchRecord
from gateway.batches.status import TERMINAL, BatchStatus
from gateway.batches.store import IllegalTransitionError, TooManyBatchesInFlightError
from gateway.core.errors import InvalidRequest, NotFound, RateLimited
from gateway.core.ids import new_batch_id
from gateway.services import Services

__all__ = ["IN_FLIGHT_RETRY_AFTER_SECONDS", "cancel_batch", "create_batch", "owned_batch"]

IN_FLIGHT_RETRY_AFTER_SECONDS = 30


async def owned_batch(services: Services, tenant: str, batch_id: str) -> BatchRecord:
    """The tenant's batch; another tenant's id is not found, exactly as an unknown one."""
    record = await services.batches.get(batch_id, tenant=tenant)
    if record is None:
        raise _not_found(batch_id)
    return record


async def create_batch(services: Services, tenant: str, params: CreateBatchRequest) -> BatchRecord:
    _check_tags(params, services)
    record = await _new_record(services, tenant, params)
    limit = services.settings.limits.max_batches_in_flight_per_tenant
    try:
        await services.batches.create(record, max_in_flight=limit)
    except TooManyBatchesInFlightError:
        raise RateLimited(
            f"Too many batches in flight: at most {limit} unfinished batches per tenant. Retry when one has finished.",
            code="too_many_batches_in_flight",
            headers={"retry-after": str(IN_FLIGHT_RETRY_AFTER_SECONDS)},
        ) from None
    # If this process dies right here, the worker's resync sweep schedules the batch.
    await services.schedule.add(record.id, int(time.time() * 1000))
    return record


async def cancel_batch(services: Services, record: BatchRecord) -> BatchRecord:
    """Any live batch → cancelling (a worker then writes a `batch_cancelled` line for every request that did not
    run, even when nothing ran, and moves it to cancelled); already cancelling → as is; terminal → 400."""
    now = int(services.clock())
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
            await services.schedule.add(record.id, int(time.time() * 1000))  # the schedule runs on real time
            return updated
        record = await owned_batch(services, record.tenant, record.id)
    return record


def _not_found(batch_id: str) -> NotFound:
    return NotFound(f"No batch found with id '{batch_id}'.", param="batch_id")


def _check_tags(params: CreateBatchRequest, services: Services) -> None:
    """An invalid cost allocation tag value is refused now, not silently folded into `untagged` later."""
    try:
        check_tags(params.metadata, services.settings.accounting.tag_keys)
    except InvalidTagError as exc:
        raise InvalidRequest(str(exc), param=f"metadata.{exc.key}", code="invalid_value") from None


async def _new_record(services: Services, tenant: str, params: CreateBatchRequest) -> BatchRecord:
    input_file = await services.files.get(params.input_file_id, tenant=tenant)
    if input_file is None:
        raise NotFound(f"No such File object: {params.input_file_id}", param="input_file_id")
    if input_file.purpose != "batch":
        message = f"File {params.input_file_id} was uploaded with purpose {input_file.purpose!r}, not 'batch'."
        raise InvalidRequest(message, param="input_file_id", code="invalid_value")
    await check_endpoint_served(services, params.endpoint, input_file)
    now = int(services.clock())
    return BatchRecord(
        id=new_batch_id(),
        tenant=tenant,
        endpoint=params.endpoint,
        input_file_id=params.input_file_id,
        created_at=now,
        completion_window=params.completion_window,
        expires_at=now + services.settings.batches.window_seconds,
        metadata=params.metadata,
        input_bytes=input_file.bytes,
        output_expires_after_seconds=params.output_expires_after.seconds if params.output_expires_after else None,
    )
