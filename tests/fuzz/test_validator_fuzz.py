"""Fuzzing the validator: any bytes and near-valid JSONL, whole and in random chunkings, with tight limits too.

The invariant (see `invariants.assert_validator_total`): a self-consistent report for every input, never an
exception, identical however the bytes arrive. The corpus in `corpus/validator/` replays saved nasty inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.validation import ValidationLimits
from tests.fuzz.budget import long_run, short_run
from tests.fuzz.invariants import assert_validator_total
from tests.fuzz.jsonl_inputs import ENDPOINTS, any_bytes, jsonl_files

CORPUS = Path(__file__).parent / "corpus" / "validator"
TIGHT = ValidationLimits(max_requests=3, max_bytes=300, max_embedding_inputs=4, max_errors=2, max_line_bytes=64)
LIMITS = st.sampled_from([ValidationLimits(), TIGHT])
CUTS = st.integers(1, 64)


def _bytes_case(data: bytes, endpoint: str, cut: int, limits: ValidationLimits) -> None:
    assert_validator_total(data, endpoint, cut, limits=limits)


def _jsonl_case(case: tuple[str, bytes], cut: int, limits: ValidationLimits) -> None:
    endpoint, data = case
    assert_validator_total(data, endpoint, cut, limits=limits)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.jsonl")), ids=lambda path: path.name)
@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
def test_corpus_replays(path: Path, endpoint: str) -> None:
    data = path.read_bytes()
    for cut in (1, 7, len(data) or 1):
        assert_validator_total(data, endpoint, cut)
        assert_validator_total(data, endpoint, cut, limits=TIGHT)


@short_run(400)
@given(data=any_bytes(), endpoint=ENDPOINTS, cut=CUTS, limits=LIMITS)
def test_any_bytes(data: bytes, endpoint: str, cut: int, limits: ValidationLimits) -> None:
    _bytes_case(data, endpoint, cut, limits)


@short_run(300)
@given(case=jsonl_files(), cut=CUTS, limits=LIMITS)
def test_near_valid_jsonl(case: tuple[str, bytes], cut: int, limits: ValidationLimits) -> None:
    _jsonl_case(case, cut, limits)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@long_run(50_000)
@given(data=any_bytes(), endpoint=ENDPOINTS, cut=CUTS, limits=LIMITS)
def test_any_bytes_long(data: bytes, endpoint: str, cut: int, limits: ValidationLimits) -> None:
    _bytes_case(data, endpoint, cut, limits)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@long_run(15_000)
@given(case=jsonl_files(), cut=CUTS, limits=LIMITS)
def test_near_valid_jsonl_long(case: tuple[str, bytes], cut: int, limits: ValidationLimits) -> None:
    _jsonl_case(case, cut, limits)
