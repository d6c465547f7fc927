"""Turning a msgspec ValidationError on one field into a (code, message, param) problem."""

from __future__ import annotations

import re

import msgspec

from gateway.validation.errors import ErrorCode

__all__ = ["Problem", "from_validation", "missing"]

# (code, human message, param): a LineError before it gets its line number.
Problem = tuple[ErrorCode, str, str | None]

# Fields whose problems have a code of their own; other body fields get invalid_type / invalid_value.
_FIELD_CODES = {
    "custom_id": ErrorCode.INVALID_CUSTOM_ID,
    "body": ErrorCode.INVALID_BODY,
    "body.model": ErrorCode.INVALID_MODEL,
    "body.stream": ErrorCode.STREAM_NOT_SUPPORTED,
    "body.background": ErrorCode.INVALID_VALUE,
}
_FIELD_MESSAGES = {
    "custom_id": "`custom_id` must be a string of 1 to 64 characters",
    "body": "`body` must be a JSON object",
    "body.model": "`body.model` must be a non-empty string",
    "body.stream": "`body.stream` must be false or absent: batch requests cannot stream",
    "body.background": "`body.background` must be false or absent: a batch request is already asynchronous",
}
_MISSING = re.compile(r"Object missing required field `([^`]*)`")


def missing(param: str) -> Problem:
    return ErrorCode.MISSING_REQUIRED_PARAMETER, f"missing required field `{param}`", param


def from_validation(param: str, exc: msgspec.ValidationError) -> Problem:
    """Map msgspec's message ("Expected `int` >= 1 - at `$[0].n`") to our code, param and wording."""
    detail, _, where = str(exc).partition(" - at `$")
    full = param + where.rstrip("`")
    absent = _MISSING.match(detail)
    if absent:
        return missing(f"{full}.{absent.group(1)}")
    code = _FIELD_CODES.get(param)
    if code is not None:
        return code, _FIELD_MESSAGES[param], param
    code = ErrorCode.INVALID_TYPE if ", got `" in detail else ErrorCode.INVALID_VALUE
    return code, f"invalid `{full}`: {detail}", full
