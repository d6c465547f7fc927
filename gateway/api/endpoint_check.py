"""At create: refuse a batch whose endpoint no route of the file's model serves (400, before any upload).

The model is only written in the file's lines, so its first line is read (up to `_FIRST_LINE_LIMIT`
bytes). An endpoint batchgate has no spec for (images, videos) is refused whatever the model. When the
first line names no model, or a model with no route at all, validation reports it (`model_not_found`,
`invalid_model`, ...) with its line number.
"""

from __future__ import annotations

import msgspec

from gateway.config.settings import Settings
from gateway.core.errors import InvalidRequest
from gateway.files.records import FileRecord
from gateway.services import Services
from gateway.validation.endpoints import ENDPOINTS
from providers.base import BlobStore

__all__ = ["check_endpoint_served", "first_line_model"]

_FIRST_LINE_LIMIT = 1 << 20


class _Body(msgspec.Struct):
    model: str | None = None


class _Line(msgspec.Struct):
    body: _Body | None = None


_LINE = msgspec.json.Decoder(_Line)


async def check_endpoint_served(services: Services, endpoint: str, input_file: FileRecord) -> None:
    if endpoint in ENDPOINTS and not services.settings.models:
        return  # nothing is routed yet: validation reports the model
    model = await first_line_model(services.storage, input_file.storage_key)
    problem = unserved(services.settings, endpoint, model)
    if problem is not None:
        raise InvalidRequest(problem, param="endpoint", code="invalid_value")


def unserved(settings: Settings, endpoint: str, model: str | None) -> str | None:
    """Why no route of `model` serves `endpoint`, or None when one does (or validation should tell)."""
    route = settings.route_for(model) if model is not None else None
    if endpoint in ENDPOINTS and (route is None or settings.serves(route.name, endpoint)):
        return None
    if route is None:
        served = ", ".join(ENDPOINTS)
        return f"Endpoint {endpoint} is not served by any route of this gateway; batch endpoints here: {served}."
    provider = settings.providers[route.provider]
    listed = ", ".join(provider.endpoints or ())
    return (
        f"Endpoint {endpoint} is not served for model {route.name!r}: its route is provider "
        f"{route.provider!r} ({provider.kind}), which serves {listed}."
    )


async def first_line_model(storage: BlobStore, key: str) -> str | None:
    """`body.model` of the file's first line, or None when it is not readable within the limit."""
    head = b""
    chunks = storage.open_read(key)
    try:
        async for chunk in chunks:
            head += chunk
            if b"\n" in head or len(head) >= _FIRST_LINE_LIMIT:
                break
    finally:
        close = getattr(chunks, "aclose", None)  # the backends' generators: release the file or stream now
        if close is not None:
            await close()
    first = head.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf")
    try:
        body = _LINE.decode(first).body
    except (msgspec.DecodeError, RecursionError):  # the last: a line nested too deeply (validation names it)
        return None
    return body.model if body is not None else None
