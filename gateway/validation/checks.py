"""The cross-line and whole-file rules' verdicts, as pure functions of what the validator counts."""

from __future__ import annotations

from gateway.validation.errors import ErrorCode
from gateway.validation.limits import ValidationLimits
from gateway.validation.problems import Problem

__all__ = ["duplicate_id", "file_problems", "inputs_crossed", "model_mismatch", "model_not_served"]


def duplicate_id(custom_id: str) -> Problem:
    return ErrorCode.DUPLICATE_CUSTOM_ID, f"custom_id {custom_id!r} is used twice", "custom_id"


def model_not_served(model: str, url: str) -> Problem:
    return ErrorCode.MODEL_NOT_FOUND, f"model {model!r} is not served for {url}", "body.model"


def model_mismatch(model: str, first: str) -> Problem:
    message = f"model {model!r} differs from {first!r} used by the file's first request"
    return ErrorCode.MODEL_MISMATCH, message, "body.model"


def inputs_crossed(limit: int) -> Problem:
    message = f"the file holds more than {limit} embedding inputs (this line crosses the limit)"
    return ErrorCode.TOO_MANY_EMBEDDING_INPUTS, message, "body.input"


def file_problems(requests: int, size: int, limits: ValidationLimits) -> list[tuple[ErrorCode, str]]:
    found = []
    if requests == 0:
        found.append((ErrorCode.EMPTY_FILE, "the file holds no request lines"))
    if size > limits.max_bytes:
        found.append((ErrorCode.FILE_TOO_LARGE, f"the file has {size} bytes; the limit is {limits.max_bytes}"))
    if requests > limits.max_requests:
        message = f"the file holds {requests} requests; the limit is {limits.max_requests}"
        found.append((ErrorCode.TOO_MANY_TASKS, message))
    return found
