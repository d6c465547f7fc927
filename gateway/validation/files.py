"""Validating a whole input at once: an iterable of chunks, or a file on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from gateway.validation.engine import Validator
from gateway.validation.limits import ValidationLimits
from gateway.validation.report import ValidationReport

__all__ = ["CHUNK_BYTES", "validate_chunks", "validate_file"]

CHUNK_BYTES = 1024 * 1024


def validate_chunks(
    chunks: Iterable[bytes],
    endpoint: str,
    *,
    serves_model: Callable[[str], bool] | None = None,
    limits: ValidationLimits = ValidationLimits(),  # noqa: B008  # frozen
) -> ValidationReport:
    validator = Validator(endpoint, serves_model=serves_model, limits=limits)
    for chunk in chunks:
        validator.feed(chunk)
    return validator.finish()


def validate_file(
    path: Path,
    endpoint: str,
    *,
    serves_model: Callable[[str], bool] | None = None,
    limits: ValidationLimits = ValidationLimits(),  # noqa: B008  # frozen
    output_cap: Callable[[str], int | None] | None = None,
) -> ValidationReport:
    """Validate a file on disk, read in 1 MiB chunks (raises OSError if it cannot be read)."""
    validator = Validator(endpoint, serves_model=serves_model, limits=limits, output_cap=output_cap)
    with Path(path).open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            validator.feed(chunk)
    return validator.finish()
