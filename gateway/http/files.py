"""`/v1/files`: upload, list, retrieve, content, delete — wire-exact with OpenAI (spec §1.2–1.6)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from gateway.core.errors import InvalidRequest, NotFound, PayloadTooLarge, RateLimited
from gateway.core.ids import new_file_id
from gateway.files.leases import UploadSlots
from gateway.files.records import UPLOAD_PURPOSES, DeletedFile, FileList, FileObject, FileRecord
from gateway.files.upload import MAX_BATCH_FILE_BYTES, MAX_FILE_BYTES, MultipartUpload
from gateway.http.auth import Principal
from gateway.http.bodies import stream_body
from gateway.http.deps import Cursor, PrincipalDep, ServicesDep
from gateway.http.openapi import UploadOperation, error_responses
from gateway.services import Services

__all__ = ["FilesController"]

MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 2_592_000
BATCH_FILE_DEFAULT_EXPIRY_SECONDS = 30 * 24 * 3600
# Room for the multipart framing around the largest file we accept.
_MAX_UPLOAD_BODY = MAX_FILE_BYTES + 64 * 1024
UPLOAD_RETRY_AFTER_SECONDS = 1


def _not_found(file_id: str) -> NotFound:
    return NotFound(f"No such File object: {file_id}", param="id")


async def _owned_file(services: Services, principal: Principal, file_id: str) -> FileRecord:
    record = await services.files.get(file_id, tenant=principal.tenant)
    if record is None:
        raise _not_found(file_id)
    return record


class FilesController(Controller):
    path = "/v1/files"

    @post(
        "/",
        status_code=200,
        request_max_body_size=_MAX_UPLOAD_BODY,
        operation_class=UploadOperation,
        responses=error_responses(413),
    )
    async def upload(
        self, request: Request[object, object, State], services: ServicesDep, principal: PrincipalDep
    ) -> FileObject:
        boundary = _boundary(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > _MAX_UPLOAD_BODY:
            raise PayloadTooLarge(f"File is too large: the limit is {MAX_FILE_BYTES} bytes.", param="file")
        limit = services.settings.limits.max_concurrent_uploads_per_tenant
        async with UploadSlots(services.redis, limit).hold(principal.tenant) as held:
            if not held:
                raise RateLimited(
                    f"Too many concurrent uploads: at most {limit} per tenant. Retry when one has finished.",
                    code="too_many_concurrent_uploads",
                    headers={"retry-after": str(UPLOAD_RETRY_AFTER_SECONDS)},
                )
            record = await _store(request, services, principal.tenant, boundary)
        return record.to_wire()

    @get("/", responses=error_responses())
    async def list_files(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        purpose: Annotated[str | None, QueryParameter(max_length=64)] = None,
        after: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 10_000,
        order: FromQuery[Literal["asc", "desc"]] = "desc",
    ) -> FileList:
        records, has_more = await services.files.list_page(
            principal.tenant, purpose=purpose, after=after, limit=limit, order=order
        )
        return FileList.of((record.to_wire() for record in records), has_more)

    @get("/{file_id:str}", responses=error_responses(404))
    async def retrieve(self, file_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> FileObject:
        return (await _owned_file(services, principal, file_id)).to_wire()

    @get("/{file_id:str}/content", responses=error_responses(404))
    async def content(self, file_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> Stream:
        record = await _owned_file(services, principal, file_id)
        chunks = await _prefetched(services.storage.open_read(record.storage_key))
        return Stream(
            chunks,
            media_type="application/octet-stream",
            headers={"content-length": str(record.bytes)},
        )

    @delete("/{file_id:str}", status_code=200, responses=error_responses(404))
    async def remove(self, file_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> DeletedFile:
        record = await _owned_file(services, principal, file_id)
        if not await services.files.delete(record):
            raise _not_found(file_id)
        await services.storage.delete(record.storage_key)
        return DeletedFile(id=file_id)


async def _store(request: Request[object, object, State], services: Services, tenant: str, boundary: str) -> FileRecord:
    """Stream the file part to storage and record it; nothing stays in storage when any check fails."""
    upload = MultipartUpload(stream_body(request), boundary)
    file_id = new_file_id()
    storage_key = f"files/{file_id}"
    try:
        size = await services.storage.write(storage_key, upload.file_chunks())
        record = _record_for(upload, tenant, file_id, storage_key, size)
    except BaseException:
        await services.storage.delete(storage_key)
        raise
    await services.files.create(record)
    return record


async def _prefetched(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Read the first chunk now, so a storage failure answers as an error instead of a cut-off 200."""
    first = await anext(chunks, None)

    async def replay() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for chunk in chunks:
            yield chunk

    return replay()


def _boundary(request: Request[object, object, State]) -> str:
    media_type, options = request.content_type
    boundary = options.get("boundary")
    if media_type != "multipart/form-data" or not boundary:
        raise InvalidRequest("Uploads must be sent as multipart/form-data with a `file` and a `purpose` field.")
    return boundary


def _record_for(
    upload: MultipartUpload, tenant: str, file_id: FromPath[str], storage_key: str, size: int
) -> FileRecord:
    """Check the collected form fields and build the record; raises before anything is recorded."""
    purpose = upload.fields.get("purpose")
    if purpose is None:
        raise InvalidRequest(
            "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
        )
    if purpose not in UPLOAD_PURPOSES:
        allowed = ", ".join(sorted(UPLOAD_PURPOSES))
        raise InvalidRequest(
            f"Invalid purpose {purpose!r}: expected one of {allowed}.", param="purpose", code="invalid_value"
        )
    if upload.filename is None:
        raise _missing("file")
    if purpose == "batch":
        _check_batch_file(upload.filename, size)
    created_at = int(time.time())
    return FileRecord(
        id=file_id,
        tenant=tenant,
        bytes=size,
        created_at=created_at,
        filename=upload.filename,
        purpose=purpose,
        storage_key=storage_key,
        expires_at=_expires_at(upload.fields, purpose, created_at),
    )


def _missing(field: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: {field!r}.", param=field, code="missing_required_parameter")


def _check_batch_file(filename: str, size: int) -> None:
    # The SDK names raw-bytes uploads "upload" (no extension); we accept that name so
    # `files.create(file=b"...", purpose="batch")` works, and reject any other non-.jsonl name like OpenAI.
    if filename != "upload" and not filename.lower().endswith(".jsonl"):
        raise InvalidRequest(
            "Invalid file format for Batch API. Must be .jsonl", param="file", code="invalid_file_format"
        )
    if size > MAX_BATCH_FILE_BYTES:
        raise PayloadTooLarge(f"File is too large: the limit is {MAX_BATCH_FILE_BYTES} bytes.", param="file")


def _expires_at(fields: dict[str, str], purpose: str, created_at: int) -> int | None:
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return created_at + BATCH_FILE_DEFAULT_EXPIRY_SECONDS if purpose == "batch" else None
    if anchor != "created_at":
        raise InvalidRequest("expires_after[anchor] must be 'created_at'.", param="expires_after[anchor]")
    if seconds is None or not seconds.isdigit() or not MIN_EXPIRY_SECONDS <= int(seconds) <= MAX_EXPIRY_SECONDS:
        raise InvalidRequest(
            f"expires_after[seconds] must be an integer from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}.",
            param="expires_after[seconds]",
        )
    return created_at + int(seconds)
