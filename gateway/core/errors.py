"""One error tree for the HTTP API, rendered as OpenAI's envelope by one handler (see `http_errors.py`).

Status codes are chosen knowing the openai SDK retries 408/409/429/5xx: a permanent conflict is a 400,
never a 409, and nothing answers 5xx after it created a resource.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ClientClosedRequest",
    "ErrorBody",
    "ErrorEnvelope",
    "InvalidRequest",
    "MethodNotAllowed",
    "MisdirectedRequest",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "Unavailable",
]


class ErrorBody(msgspec.Struct, omit_defaults=False):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorEnvelope(msgspec.Struct, omit_defaults=False):
    error: ErrorBody


class ApiError(Exception):
    """Base of every error the API answers with. Subclasses fix status and OpenAI `type`."""

    status_code = 400
    error_type = "invalid_request_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = headers or {}

    def envelope(self) -> ErrorEnvelope:
        return ErrorEnvelope(ErrorBody(message=self.message, type=self.error_type, param=self.param, code=self.code))


class InvalidRequest(ApiError):
    status_code = 400


class ClientClosedRequest(ApiError):
    """The client went away mid-request: nobody reads the answer; the status (nginx's 499) keeps it out of 5xx."""

    status_code = 499
    default_code = "client_closed_request"


class AuthenticationError(ApiError):
    status_code = 401
    default_code = "invalid_api_key"


class NotFound(ApiError):
    status_code = 404


class MethodNotAllowed(ApiError):
    status_code = 405
    default_code = "method_not_allowed"


class MisdirectedRequest(ApiError):
    """The request names a host this server does not answer for (dev mode's Host check)."""

    status_code = 421
    default_code = "misdirected_request"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_code = "file_too_large"


class RateLimited(ApiError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class ServerError(ApiError):
    status_code = 500
    error_type = "server_error"


class Unavailable(ApiError):
    status_code = 503
    error_type = "server_error"
    default_code = "unavailable"
