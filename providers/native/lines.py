"""Wire shapes of the executor: chunk lines in, output/error lines out (spec §3.2).

The per-line Structs hold only strings, bytes, numbers and each other, so they can never be part of a
reference cycle: `gc=False` keeps them out of the cyclic collector's traversals (msgspec's perf advice;
the collector costs the executor a few percent of its CPU)."""

from __future__ import annotations

import random

import msgspec

__all__ = [
    "ChunkLine",
    "ErrorBody",
    "LineError",
    "LineResponse",
    "OutputLine",
    "error_envelope",
    "failure_line",
    "response_line",
]


class ChunkLine(msgspec.Struct, frozen=True, gc=False):
    """One request as stored in a chunk object: the body already names the upstream model."""

    custom_id: str
    body: msgspec.Raw
    tokens: int  # estimate for the TPM limit: prompt length / 4 + max_tokens


class LineResponse(msgspec.Struct, frozen=True, gc=False):
    status_code: int
    request_id: str
    body: msgspec.Raw


class LineError(msgspec.Struct, frozen=True, gc=False):
    code: str
    message: str


class OutputLine(msgspec.Struct, frozen=True, gc=False):
    id: str
    custom_id: str
    response: LineResponse | None
    error: LineError | None


class ErrorDetail(msgspec.Struct, frozen=True, gc=False):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(msgspec.Struct, frozen=True, gc=False):
    error: ErrorDetail


class _EnvelopeView(msgspec.Struct):
    """Just enough to tell an OpenAI error envelope from anything else."""

    error: dict[str, object]


_envelope_decoder = msgspec.json.Decoder(_EnvelopeView)
_encoder = msgspec.json.Encoder()


def _line_id() -> str:
    # Unique, not secret: the process-seeded PRNG avoids a urandom system call per line.
    return f"batch_req_{random.getrandbits(96):024x}"


def error_envelope(status: int, raw: bytes) -> bytes:
    """The upstream's error body if it is an OpenAI envelope, else that body wrapped in one."""
    try:
        _envelope_decoder.decode(raw)
    except msgspec.DecodeError:  # ValidationError is a DecodeError too
        text = raw[:2000].decode("utf-8", "replace") or f"upstream returned HTTP {status}"
        return _encoder.encode(ErrorBody(ErrorDetail(text, "upstream_error", None, f"http_{status}")))
    return raw


def response_line(custom_id: str, status: int, request_id: str, body: bytes) -> bytes:
    return _encoder.encode(OutputLine(_line_id(), custom_id, LineResponse(status, request_id, msgspec.Raw(body)), None))


def failure_line(custom_id: str, code: str, message: str) -> bytes:
    return _encoder.encode(OutputLine(_line_id(), custom_id, None, LineError(code, message)))
