"""Coverage-guided fuzzing of the validator with atheris (libFuzzer); run by `make fuzz`, not by pytest.

    .venv/bin/python -m tests.fuzz.atheris_validator -runs=200000 <work dir> tests/fuzz/corpus/validator

The first byte picks the endpoint, the second the chunk size; the rest is the file. The invariant is the one
the hypothesis fuzzers check (`assert_validator_total`): a consistent report, the same however it is chunked.
libFuzzer writes new interesting inputs into the first corpus directory and a crash input as `crash-*`.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports(include=["gateway.validation"]):
    from gateway.validation import ValidationLimits

from tests.fuzz.invariants import assert_validator_total

_ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
_TIGHT = ValidationLimits(max_requests=3, max_bytes=300, max_embedding_inputs=4, max_errors=2, max_line_bytes=64)


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    endpoint = _ENDPOINTS[data[0] % 3]
    limits = _TIGHT if data[0] & 0x80 else ValidationLimits()
    assert_validator_total(data[2:], endpoint, 1 + data[1] % 64, limits=limits)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
