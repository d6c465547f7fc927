from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.validation import ValidationReport, validate_chunks
from tests.unit.validation.builders import CHAT, COMPLETIONS, EMBEDDINGS

ENDPOINTS = st.sampled_from([CHAT, COMPLETIONS, EMBEDDINGS])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
# Lines close to valid: each key may be right, wrong or absent, so both paths and every check get exercised.
MESSAGE = st.fixed_dictionaries(
    {},
    optional={"role": st.sampled_from(["user", "assistant", "system"]) | JSON, "content": st.text(max_size=5) | JSON},
)
BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["m", "n", ""]) | JSON,
        "messages": st.lists(MESSAGE, max_size=3) | JSON,
        "prompt": st.text(max_size=5) | st.lists(st.integers(-1, 9), max_size=3) | JSON,
        "input": st.lists(st.text(max_size=3) | st.lists(st.integers(0, 9), max_size=2), max_size=3) | JSON,
        "max_tokens": st.integers(-1, 3) | JSON,
        "temperature": st.floats(-1, 3) | JSON,
        "stream": st.booleans() | JSON,
    },
)
LINE = st.fixed_dictionaries(
    {},
    optional={
        "custom_id": st.sampled_from(["a", "b", "c", "x" * 65]) | JSON,
        "method": st.sampled_from(["POST", "GET"]) | JSON,
        "url": st.sampled_from([CHAT, COMPLETIONS, EMBEDDINGS]) | JSON,
        "body": BODY | JSON,
    },
)


def _consistent(report: ValidationReport) -> None:
    assert report.valid == (report.error_count == 0)
    assert len(report.errors) <= report.error_count
    assert all(error.line is None or error.line >= 1 for error in report.errors)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), endpoint=ENDPOINTS, cut=st.integers(1, 40))
def test_any_bytes_give_a_report_never_an_exception(data: bytes, endpoint: str, cut: int) -> None:
    whole = validate_chunks([data], endpoint)
    pieces = validate_chunks([data[i : i + cut] for i in range(0, len(data), cut)], endpoint)
    _consistent(whole)
    assert pieces == whole


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=6), endpoint=ENDPOINTS, cut=st.integers(1, 60), crlf=st.booleans())
def test_near_valid_lines_give_consistent_reports(lines: list[object], endpoint: str, cut: int, crlf: bool) -> None:
    data = b"".join(msgspec.json.encode(line) + (b"\r\n" if crlf else b"\n") for line in lines)
    whole = validate_chunks([data], endpoint)
    pieces = validate_chunks([data[i : i + cut] for i in range(0, len(data), cut)], endpoint)
    _consistent(whole)
    assert pieces == whole
    assert whole.requests == len(lines)
    assert all(error.line is None or error.line <= len(lines) for error in whole.errors)
