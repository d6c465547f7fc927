"""`/v1/batches`: create, retrieve, list, cancel — wire-exact with OpenAI (spec §1.7–1.10). The rules live in
`gateway.api.batches`; this controller decodes, authenticates and renders."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from gateway.api.batches import cancel_batch, create_batch, owned_batch
from gateway.batches import BatchList, BatchObject, to_list, to_wire
from gateway.batches.create_request import decode_create_request
from gateway.batches.live import with_live_counts
from gateway.http.bodies import read_body
from gateway.http.deps import Cursor, PrincipalDep, ServicesDep
from gateway.http.openapi import CreateBatchOperation, error_responses

__all__ = ["BatchesController"]

_MAX_CREATE_BODY = 64 * 1024


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
        return to_wire(await create_batch(services, principal.tenant, params))

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
        record = await owned_batch(services, principal.tenant, batch_id)
        return to_wire(await with_live_counts(record, services.settings, services.redis))

    @post("/{batch_id:str}/cancel", status_code=200, responses=error_responses(404))
    async def cancel(self, batch_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> BatchObject:
        # The SDK sends an empty body with a JSON content type; this handler never reads the body.
        record = await owned_batch(services, principal.tenant, batch_id)
        return to_wire(await cancel_batch(services, record))
