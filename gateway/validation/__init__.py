"""Batch input validation: one streaming pass over a JSONL file, every problem with its 1-based line.

    validator = Validator("/v1/chat/completions", serves_model=lambda model: model in routes)
    for chunk in chunks:
        validator.feed(chunk)
    report = validator.finish()

`ERROR_CODES` is the published table of error codes.
"""

from gateway.validation.endpoints import DEFAULT_CHAT_MAX_OUTPUT_TOKENS, DEFAULT_COMPLETIONS_MAX_TOKENS
from gateway.validation.engine import Validator
from gateway.validation.errors import ERROR_CODES, ErrorCode, LineError
from gateway.validation.files import CHUNK_BYTES, validate_chunks, validate_file
from gateway.validation.limits import ValidationLimits
from gateway.validation.report import ValidationReport

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_CHAT_MAX_OUTPUT_TOKENS",
    "DEFAULT_COMPLETIONS_MAX_TOKENS",
    "ERROR_CODES",
    "ErrorCode",
    "LineError",
    "ValidationLimits",
    "ValidationReport",
    "Validator",
    "validate_chunks",
    "validate_file",
]
