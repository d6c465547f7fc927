from __future__ import annotations

from pathlib import Path

import pytest

from gateway.validation import ERROR_CODES, ErrorCode, ValidationLimits, ValidationReport, validate_file
from tests.unit.validation.builders import CHAT, EMBEDDINGS, jsonl, request
from tests.unit.validation.corpus import CASES, GOOD_FILES, Expected


def _run(tmp_path: Path, endpoint: str, data: bytes, **kwargs: object) -> ValidationReport:
    path = tmp_path / "input.jsonl"
    path.write_bytes(data)
    return validate_file(path, endpoint, **kwargs)  # type: ignore[arg-type]


def _found(report: ValidationReport) -> Expected:
    return [(error.code, error.line, error.param) for error in report.errors]


@pytest.mark.parametrize(("endpoint", "data", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_each_rule_reports_its_code_line_and_param(
    tmp_path: Path, endpoint: str, data: bytes, expected: Expected
) -> None:
    report = _run(tmp_path, endpoint, data)
    assert _found(report) == expected
    assert report.valid is False
    assert report.error_count == len(expected)
    assert all(error.message for error in report.errors)


@pytest.mark.parametrize(("endpoint", "data"), [case[1:] for case in GOOD_FILES], ids=[c[0] for c in GOOD_FILES])
def test_good_files_pass(tmp_path: Path, endpoint: str, data: bytes) -> None:
    report = _run(tmp_path, endpoint, data)
    assert report.errors == []
    assert report.valid is True
    assert report.model == "m"
    assert report.requests == data.strip().count(b"\n") + 1


def test_every_code_is_published_and_used_codes_are_known() -> None:
    assert set(ERROR_CODES) == set(ErrorCode)
    used = {code for case in CASES for code, _, _ in case[3]}
    assert used <= {code.value for code in ErrorCode}


def test_model_not_served_is_reported_once_on_its_first_line(tmp_path: Path) -> None:
    data = jsonl(request(CHAT, "a"), request(CHAT, "b"), request(CHAT, "c", model="other"))
    asked: list[str] = []

    def serves(model: str) -> bool:
        asked.append(model)
        return False

    report = _run(tmp_path, CHAT, data, serves_model=serves)
    assert _found(report) == [("model_not_found", 1, "body.model"), ("model_mismatch", 3, "body.model")]
    assert asked == ["m"]


def test_served_model_passes(tmp_path: Path) -> None:
    report = _run(tmp_path, CHAT, jsonl(request(CHAT, "a")), serves_model=lambda model: model == "m")
    assert report.valid


def test_file_limits(tmp_path: Path) -> None:
    data = jsonl(*(request(CHAT, f"r{index}") for index in range(3)))
    limits = ValidationLimits(max_requests=2, max_bytes=len(data) - 1)
    report = _run(tmp_path, CHAT, data, limits=limits)
    assert _found(report) == [("file_too_large", None, None), ("too_many_tasks", None, None)]
    assert report.requests == 3


def test_embedding_inputs_are_counted_across_the_file(tmp_path: Path) -> None:
    data = jsonl(*(request(EMBEDDINGS, f"e{index}", input=["a", "b"]) for index in range(3)))
    report = _run(tmp_path, EMBEDDINGS, data, limits=ValidationLimits(max_embedding_inputs=3))
    assert _found(report) == [("too_many_embedding_inputs", 2, "body.input")]
    assert report.embedding_inputs == 6


def test_line_longer_than_the_limit(tmp_path: Path) -> None:
    long_line = request(CHAT, "r1", messages=[{"role": "user", "content": "x" * 500}])
    data = jsonl(request(CHAT, "r0"), long_line, request(CHAT, "r2"))
    report = _run(tmp_path, CHAT, data, limits=ValidationLimits(max_line_bytes=300))
    assert _found(report) == [("line_too_long", 2, None)]
    assert report.requests == 3


def test_error_cap_keeps_the_first_errors_and_counts_all(tmp_path: Path) -> None:
    data = b"".join(b"nope\n" for _ in range(150))
    report = _run(tmp_path, CHAT, data, limits=ValidationLimits(max_errors=100, max_requests=120))
    assert report.error_count == 151  # 150 lines + too_many_tasks
    assert len(report.errors) == 100
    assert report.errors[0].code == "too_many_tasks"  # whole-file errors are listed first
    assert [error.line for error in report.errors[1:]] == list(range(1, 100))


def test_estimates(tmp_path: Path) -> None:
    chat = jsonl(
        request(CHAT, "a", messages=[{"role": "user", "content": "abcd"}], max_tokens=10, n=2),
        request(CHAT, "b", messages=[{"role": "user", "content": [{"type": "text", "text": "é"}]}], max_tokens=None),
        request(CHAT, "c", max_completion_tokens=5, max_tokens=99),
    )
    report = _run(tmp_path, CHAT, chat)
    # chat: each request line's own bytes (without the newline) / 4, rounded up over the file
    assert report.estimated_input_tokens == -(-(len(chat) - 3) // 4)
    assert report.estimated_input_tokens >= -(-(4 + 2 + 12) // 4)  # never below the old text-only rule
    crlf = _run(tmp_path, CHAT, chat.replace(b"\n", b"\r\n"))
    assert crlf.estimated_input_tokens == -(-len(chat) // 4)  # the \r is part of its line
    assert report.max_output_tokens == 10 * 2 + 4096 + 5
    embeddings = jsonl(request(EMBEDDINGS, "a", input=[[1, 2, 3], [4]]), request(EMBEDDINGS, "b", input=["abcdefgh"]))
    report = _run(tmp_path, EMBEDDINGS, embeddings)
    assert (report.embedding_inputs, report.estimated_input_tokens, report.max_output_tokens) == (3, 4 + 2, 0)


@pytest.mark.parametrize(
    ("tokens", "count"), [(b"[7]", 1), (b"[1,2,3]", 3), (b"[ 1 , 2,\t3 ]", 3), (b"[\r10,\t20 ]", 2)]
)
def test_a_flat_token_array_counts_its_ids_whatever_its_spacing(tmp_path: Path, tokens: bytes, count: int) -> None:
    line = b'{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":%b}}\n' % tokens
    report = _run(tmp_path, EMBEDDINGS, line)
    assert report.valid
    assert (report.embedding_inputs, report.estimated_input_tokens) == (1, count)


def test_unknown_endpoint_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported endpoint"):
        validate_file(Path("/nonexistent"), "/v1/videos")
