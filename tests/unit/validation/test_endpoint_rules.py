"""`/v1/responses` and `/v1/moderations` lines: each rule's code, line and param, the estimates, and both
validation paths (the typed decode and the precise one) agreeing on good lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.validation import ValidationReport, validate_file
from tests.support.schemas import validator
from tests.unit.validation.builders import CHAT, MODERATIONS, RESPONSES, jsonl, request

Expected = list[tuple[str, int | None, str | None]]


def _run(tmp_path: Path, endpoint: str, data: bytes) -> ValidationReport:
    path = tmp_path / "input.jsonl"
    path.write_bytes(data)
    return validate_file(path, endpoint)


def _found(report: ValidationReport) -> Expected:
    return [(error.code, error.line, error.param) for error in report.errors]


def _responses(custom_id: str, **body: Any) -> dict[str, Any]:
    line = request(RESPONSES, custom_id)
    return line | {"body": {"model": "m"} | body}


def _moderations(custom_id: str, value: object) -> dict[str, Any]:
    return request(MODERATIONS, custom_id, input=value)


MESSAGE_ITEMS = [
    {"role": "developer", "content": "Be brief."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image"}]},
    {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
    {"type": "function_call_output", "call_id": "call_1", "output": "42"},
    {"type": "item_reference", "id": "msg_1"},
]

GOOD_RESPONSES = [
    _responses("a", input="plain string"),
    _responses("b", input=MESSAGE_ITEMS, instructions="Answer in French.", max_output_tokens=100),
    _responses("c", input="x", stream=False, background=None, temperature=0.5, top_p=1, tools=[{"type": "web_search"}]),
    _responses("d", input="x", reasoning={"effort": "low"}, text={"format": {"type": "text"}}, store=False),
]

BAD_RESPONSES: list[tuple[str, dict[str, Any], Expected]] = [
    ("stream", _responses("s", input="x", stream=True), [("stream_not_supported", 2, "body.stream")]),
    ("background", _responses("s", input="x", background=True), [("invalid_value", 2, "body.background")]),
    ("no_input", _responses("s", instructions="x"), [("missing_required_parameter", 2, "body.input")]),
    ("input_number", _responses("s", input=3), [("invalid_type", 2, "body.input")]),
    ("item_not_object", _responses("s", input=["x"]), [("invalid_type", 2, "body.input[0]")]),
    (
        "bad_role",
        _responses("s", input=[{"role": "robot", "content": "x"}]),
        [("invalid_value", 2, "body.input[0].role")],
    ),
    ("no_role", _responses("s", input=[{"content": "x"}]), [("missing_required_parameter", 2, "body.input[0].role")]),
    (
        "message_without_role",
        _responses("s", input=[{"type": "message", "content": "x"}]),
        [("missing_required_parameter", 2, "body.input[0].role")],
    ),
    (
        "no_content",
        _responses("s", input=[{"role": "user", "content": "ok"}, {"role": "user"}]),
        [("missing_required_parameter", 2, "body.input[1].content")],
    ),
    (
        "part_without_type",
        _responses("s", input=[{"role": "user", "content": [{"text": "x"}]}]),
        [("missing_required_parameter", 2, "body.input[0].content[0].type")],
    ),
    (
        "max_output_zero",
        _responses("s", input="x", max_output_tokens=0),
        [("invalid_value", 2, "body.max_output_tokens")],
    ),
    ("instructions_number", _responses("s", input="x", instructions=1), [("invalid_type", 2, "body.instructions")]),
    ("temperature", _responses("s", input="x", temperature=3), [("invalid_value", 2, "body.temperature")]),
    (
        "no_model",
        _responses("s", input="x") | {"body": {"input": "x"}},
        [("missing_required_parameter", 2, "body.model")],
    ),
    ("other_url", request(CHAT, "s") | {"body": {"model": "m", "input": "x"}}, [("url_mismatch", 2, "url")]),
    ("duplicate_id", _responses("a", input="x"), [("duplicate_custom_id", 2, "custom_id")]),
]


@pytest.mark.parametrize(("line", "expected"), [case[1:] for case in BAD_RESPONSES], ids=[c[0] for c in BAD_RESPONSES])
def test_each_responses_rule_reports_its_code_line_and_param(tmp_path: Path, line: Any, expected: Expected) -> None:
    report = _run(tmp_path, RESPONSES, jsonl(GOOD_RESPONSES[0], line, _responses("z", input="after")))
    assert _found(report) == expected
    assert report.requests == 3


def test_good_responses_lines_pass_and_are_estimated(tmp_path: Path) -> None:
    data = jsonl(*GOOD_RESPONSES)
    report = _run(tmp_path, RESPONSES, data)
    assert report.errors == []
    assert (report.valid, report.requests, report.model) == (True, 4, "m")
    # Output: 100 where set, else the planning figure of 4,096; input: the lines' own bytes / 4.
    assert report.max_output_tokens == 100 + 3 * 4096
    assert report.estimated_input_tokens == -(-(len(data) - 4) // 4)


def test_a_bad_line_among_good_ones_keeps_its_exact_line_number(tmp_path: Path) -> None:
    lines = [_responses(f"r{i}", input=f"q{i}") for i in range(500)]
    lines[137] = _responses("r137", input=[{"role": "user"}])
    lines[420] = _responses("r420", input="x", stream=True)
    report = _run(tmp_path, RESPONSES, jsonl(*lines))
    assert _found(report) == [
        ("missing_required_parameter", 138, "body.input[0].content"),
        ("stream_not_supported", 421, "body.stream"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", []),
        (["a", "b"], []),
        ([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}], []),
        (3, [("invalid_type", 1, "body.input")]),
        ([], [("invalid_value", 1, "body.input")]),
        (["a", 1], [("invalid_type", 1, "body.input[1]")]),
        ([{"type": "audio"}], [("invalid_value", 1, "body.input[0].type")]),
        ([{"type": "text"}], [("missing_required_parameter", 1, "body.input[0].text")]),
    ],
)
def test_moderations_input_shapes(tmp_path: Path, value: object, expected: Expected) -> None:
    report = _run(tmp_path, MODERATIONS, jsonl(_moderations("m1", value)))
    assert _found(report) == expected
    assert report.max_output_tokens == 0


def test_a_moderations_line_needs_a_model(tmp_path: Path) -> None:
    line = _moderations("m1", "x")
    del line["body"]["model"]
    assert _found(_run(tmp_path, MODERATIONS, jsonl(line))) == [("missing_required_parameter", 1, "body.model")]


def test_the_published_schema_agrees_with_the_validator_on_responses_lines() -> None:
    schema = validator("ResponsesBatchRequestInput")
    assert all(schema.is_valid(line) for line in GOOD_RESPONSES)
    refused = [name for name, line, _ in BAD_RESPONSES if not schema.is_valid(line)]
    # Cross-line rules (a repeated custom_id) are not a line's shape.
    assert refused == [name for name, _, _ in BAD_RESPONSES if name != "duplicate_id"]


def test_bytes_level_rules_hold_for_responses_files(tmp_path: Path) -> None:
    good = jsonl(_responses("a", input="x"))
    bad_utf8 = (
        b'{"custom_id": "b", "method": "POST", "url": "/v1/responses", "body": {"model": "m", "input": "\xff"}}\n'
    )
    data = b"\xef\xbb\xbf" + good + bad_utf8 + b"\n" + jsonl(_responses("c", input="y"))
    assert _found(_run(tmp_path, RESPONSES, data)) == [
        ("unexpected_bom", 1, None),
        ("invalid_utf8", 2, None),
        ("blank_line", 3, None),
    ]
