"""The codes a validation error may carry, and the error itself (OpenAI's `BatchError` shape).

Code names follow OpenAI's where it is known to report them (`invalid_json_line`, `duplicate_custom_id`,
`url_mismatch`, `model_mismatch`, `empty_file`, `too_many_tasks`); the others are ours, descriptive
snake_case. `ERROR_CODES` is the published table (docs/api.md lists it).
"""

from __future__ import annotations

import enum

import msgspec

__all__ = ["ERROR_CODES", "ErrorCode", "LineError"]


class ErrorCode(enum.StrEnum):
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_TASKS = "too_many_tasks"
    TOO_MANY_EMBEDDING_INPUTS = "too_many_embedding_inputs"
    UNEXPECTED_BOM = "unexpected_bom"
    INVALID_UTF8 = "invalid_utf8"
    BLANK_LINE = "blank_line"
    LINE_TOO_LONG = "line_too_long"
    INVALID_JSON_LINE = "invalid_json_line"
    NESTING_TOO_DEEP = "nesting_too_deep"
    MISSING_REQUIRED_PARAMETER = "missing_required_parameter"
    INVALID_CUSTOM_ID = "invalid_custom_id"
    DUPLICATE_CUSTOM_ID = "duplicate_custom_id"
    INVALID_METHOD = "invalid_method"
    URL_MISMATCH = "url_mismatch"
    INVALID_BODY = "invalid_body"
    INVALID_MODEL = "invalid_model"
    MODEL_MISMATCH = "model_mismatch"
    MODEL_NOT_FOUND = "model_not_found"
    STREAM_NOT_SUPPORTED = "stream_not_supported"
    INVALID_TYPE = "invalid_type"
    INVALID_VALUE = "invalid_value"
    MAX_TOKENS_TOO_LARGE = "max_tokens_too_large"


ERROR_CODES: dict[ErrorCode, str] = {
    ErrorCode.EMPTY_FILE: "The file holds no request lines.",
    ErrorCode.FILE_TOO_LARGE: "The file is larger than the batch input limit (200 MB by default).",
    ErrorCode.TOO_MANY_TASKS: "The file holds more request lines than a batch may (50,000 by default).",
    ErrorCode.TOO_MANY_EMBEDDING_INPUTS: (
        "An embeddings file holds more inputs, across all its lines, than a batch may (50,000 by default)."
    ),
    ErrorCode.UNEXPECTED_BOM: (
        "The file starts with a UTF-8 byte order mark; upstream batch APIs may reject it. Save as UTF-8 without BOM."
    ),
    ErrorCode.INVALID_UTF8: "The line is not valid UTF-8.",
    ErrorCode.BLANK_LINE: "An empty line sits between request lines (blank lines are allowed only at the end).",
    ErrorCode.LINE_TOO_LONG: "One line is longer than the per-line limit (32 MiB by default).",
    ErrorCode.INVALID_JSON_LINE: "The line is not parseable as valid JSON, or is not a JSON object.",
    ErrorCode.NESTING_TOO_DEEP: "The line nests arrays or objects too deeply to decode (about 1,000 levels).",
    ErrorCode.MISSING_REQUIRED_PARAMETER: "A required field is absent (`param` names it).",
    ErrorCode.INVALID_CUSTOM_ID: "`custom_id` is not a string of 1 to 64 characters.",
    ErrorCode.DUPLICATE_CUSTOM_ID: "`custom_id` repeats one used on an earlier line.",
    ErrorCode.INVALID_METHOD: '`method` is not "POST".',
    ErrorCode.URL_MISMATCH: "`url` differs from the batch's endpoint.",
    ErrorCode.INVALID_BODY: "`body` is not a JSON object.",
    ErrorCode.INVALID_MODEL: "`body.model` is not a non-empty string.",
    ErrorCode.MODEL_MISMATCH: "`body.model` differs from the model of the file's first request line.",
    ErrorCode.MODEL_NOT_FOUND: "No configured route serves `body.model` for this endpoint.",
    ErrorCode.STREAM_NOT_SUPPORTED: "`body.stream` is true; batch requests cannot stream.",
    ErrorCode.INVALID_TYPE: "A body field has the wrong JSON type (`param` names it).",
    ErrorCode.INVALID_VALUE: "A body field has the right type but a value out of range or not allowed.",
    ErrorCode.MAX_TOKENS_TOO_LARGE: (
        "`max_tokens` / `max_completion_tokens` is above the model's `max_output_tokens` (`param` names the field)."
    ),
}


class LineError(msgspec.Struct, frozen=True):
    """One problem in an input file; `line` is 1-based, None for whole-file problems."""

    code: str
    message: str
    param: str | None
    line: int | None
