"""The body of `POST /v1/batches`, decoded and checked with parameter-named errors (spec §1.7, §3.4).

Keys we do not know (the SDK's `extra_body`) are ignored, as OpenAI-compatible servers commonly do.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from gateway.core.errors import InvalidRequest
from gateway.validation.endpoints import OPENAI_BATCH_ENDPOINTS

__all__ = ["CreateBatchRequest", "OutputExpiresAfter", "decode_create_request"]

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 2_592_000
_PATH = re.compile(r" - at `\$\.([^`]*)`$")


class OutputExpiresAfter(msgspec.Struct, kw_only=True):
    anchor: Literal["created_at"]
    seconds: int


class CreateBatchRequest(msgspec.Struct, kw_only=True):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None
    output_expires_after: OutputExpiresAfter | None = None


_decoder = msgspec.json.Decoder(CreateBatchRequest)


def decode_create_request(body: bytes) -> CreateBatchRequest:
    try:
        request = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _as_invalid_request(str(exc)) from None
    except msgspec.DecodeError:
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json") from None
    except RecursionError:  # msgspec recurses once per nesting level; a body nested thousands deep ends here
        raise InvalidRequest("The request body nests arrays or objects too deeply.", code="invalid_json") from None
    _check(request)
    return request


def _as_invalid_request(message: str) -> InvalidRequest:
    match = _PATH.search(message)
    param = match.group(1).replace("[", ".").replace("]", "") if match else None
    if message.startswith("Object missing required field"):
        field = message.split("`")[1]
        param = f"{param}.{field}" if param else field
        return InvalidRequest(f"Missing required parameter: {param!r}.", param=param, code="missing_required_parameter")
    return InvalidRequest(f"Invalid request: {message}", param=param, code="invalid_value")


def _check(request: CreateBatchRequest) -> None:
    # OpenAI's endpoints pass here; whether a route of the file's model serves it is `batch_endpoint`'s check.
    if request.endpoint not in OPENAI_BATCH_ENDPOINTS:
        supported = ", ".join(OPENAI_BATCH_ENDPOINTS)
        message = f"Unsupported endpoint {request.endpoint!r}: the Batch API's endpoints are {supported}."
        raise InvalidRequest(message, param="endpoint", code="invalid_value")
    if request.completion_window != "24h":
        message = f"Invalid completion_window {request.completion_window!r}: only '24h' is supported."
        raise InvalidRequest(message, param="completion_window", code="invalid_value")
    _check_metadata(request.metadata)
    expiry = request.output_expires_after
    if expiry is not None and not MIN_EXPIRY_SECONDS <= expiry.seconds <= MAX_EXPIRY_SECONDS:
        message = f"output_expires_after.seconds must be from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}."
        raise InvalidRequest(message, param="output_expires_after.seconds", code="invalid_value")


def _check_metadata(metadata: dict[str, str] | None) -> None:
    if metadata is None:
        return
    problem = None
    if len(metadata) > MAX_METADATA_PAIRS:
        problem = f"at most {MAX_METADATA_PAIRS} pairs are allowed"
    elif any(len(key) > MAX_METADATA_KEY for key in metadata):
        problem = f"keys are at most {MAX_METADATA_KEY} characters"
    elif any(len(value) > MAX_METADATA_VALUE for value in metadata.values()):
        problem = f"values are at most {MAX_METADATA_VALUE} characters"
    if problem:
        raise InvalidRequest(f"Invalid metadata: {problem}.", param="metadata", code="invalid_value")
