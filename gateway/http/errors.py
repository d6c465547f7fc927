"""The one translation edge from exceptions to OpenAI's error envelope, for every error the API answers."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.exceptions import MethodNotAllowedException as LitestarMethodNotAllowed
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError

from gateway.core.errors import (
    ApiError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Unavailable,
)

__all__ = ["exception_handlers"]

log = structlog.get_logger("batchgate.http")


def _render(error: ApiError) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(error.envelope()),
        status_code=error.status_code,
        media_type="application/json",
        headers=error.headers,
    )


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[bytes]:
    return _render(exc)


def _framework_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (unknown route, wrong method, bad parameters, body too large) in our envelope."""
    if isinstance(exc, NotFoundException):
        return _render(NotFound("Unknown request URL. Please check the URL and method."))
    if isinstance(exc, LitestarMethodNotAllowed):
        return _render(MethodNotAllowed("This method is not allowed on this URL."))
    if exc.status_code == 413:
        return _render(PayloadTooLarge("The request body is too large."))
    if isinstance(exc, ValidationException):
        return _render(_validation_error(exc))
    if exc.status_code < 500:
        return _render(InvalidRequest(exc.detail))
    return _unexpected(_, exc)


def _validation_error(exc: ValidationException) -> InvalidRequest:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    key = first.get("key")
    message = first.get("message") or exc.detail
    return InvalidRequest(f"Invalid value for {key!r}: {message}" if key else str(message), param=key)


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unhandled_error", exc_info=exc)
    return _render(ServerError("The server had an error while processing your request."))


def _store_unavailable(_: Request[Any, Any, Any], exc: RedisError) -> Response[bytes]:
    """Redis down, restarting or out of connections: a retryable 503, never a bare 500."""
    log.warning("redis_unavailable", error=type(exc).__name__)
    return _render(Unavailable("The gateway's store is unavailable; retry shortly.", headers={"retry-after": "1"}))


exception_handlers: ExceptionHandlersMap = {
    ApiError: _api_error,
    HTTPException: _framework_error,
    RedisError: _store_unavailable,
    Exception: _unexpected,
}
