"""What every fuzzed answer must satisfy, shared by the fuzzers and the corpus replays."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import msgspec

from gateway.validation import ValidationLimits, ValidationReport, validate_chunks

__all__ = ["assert_envelope", "assert_validator_total", "stored_objects"]

_ERROR_KEYS = {"message", "type", "param", "code"}


def assert_envelope(response: httpx.Response) -> None:
    """No 5xx; a request id on every answer; errors exactly in OpenAI's envelope."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("x-request-id"), "every response carries x-request-id"
    if response.status_code < 400:
        return
    body = msgspec.json.decode(response.content)
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), error
    assert set(error) == _ERROR_KEYS, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["type"], str), error
    assert error["param"] is None or isinstance(error["param"], str), error
    assert error["code"] is None or isinstance(error["code"], str), error


def stored_objects(root: Path) -> set[str]:
    """Every file under the storage root, temporary `.part` files included."""
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def _cuts(data: bytes, cut: int) -> Iterable[bytes]:
    return (data[i : i + cut] for i in range(0, len(data), cut))


def assert_validator_total(
    data: bytes,
    endpoint: str,
    cut: int,
    *,
    limits: ValidationLimits = ValidationLimits(),  # noqa: B008
) -> ValidationReport:
    """The validator answers every input with a self-consistent report, the same however the bytes are chunked."""
    serves: Callable[[str], bool] = lambda model: model == "m"  # noqa: E731
    whole = validate_chunks([data], endpoint, serves_model=serves, limits=limits)
    pieces = validate_chunks(_cuts(data, cut), endpoint, serves_model=serves, limits=limits)
    assert pieces == whole
    assert whole.valid == (whole.error_count == 0)
    assert len(whole.errors) <= min(whole.error_count, limits.max_errors)
    lines = data.count(b"\n") + data.count(b"\r") + 1  # an upper bound, whatever ends a line
    assert all(error.line is None or 1 <= error.line <= lines for error in whole.errors), whole.errors
    assert whole.requests <= lines
    assert whole.estimated_input_tokens >= 0
    assert whole.max_output_tokens >= 0
    return whole
