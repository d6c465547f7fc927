"""Request bodies read so that a client hanging up mid-body is the client's doing, not a server error."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import InternalServerException

from gateway.core.errors import ClientClosedRequest

__all__ = ["read_body", "stream_body"]


def _closed() -> ClientClosedRequest:
    return ClientClosedRequest("The client closed the connection before the request body was complete.")


# Litestar reports a client that hung up mid-body as an InternalServerException (the only one its body
# readers raise); translated, it neither counts as a 5xx nor logs a traceback.
async def stream_body(request: Request[object, object, State]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException:
        raise _closed() from None


async def read_body(request: Request[object, object, State]) -> bytes:
    try:
        return await request.body()
    except InternalServerException:
        raise _closed() from None
