"""Hostile JSON in input lines: nesting bombs, huge numbers, lone surrogates and duplicate keys end in a
line-numbered error (or a clean pass where the line is fine), on every decode path, never in an exception."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from gateway.cli.validate import validate_command
from gateway.validation import ValidationReport, Validator
from gateway.validation.endpoints import ENDPOINTS as VALIDATED_ENDPOINTS
from tests.unit.validation.builders import CHAT, COMPLETIONS, EMBEDDINGS, MODERATIONS, jsonl, line, request

ENDPOINTS = list(VALIDATED_ENDPOINTS)
DEPTH = 20_000  # the measured bomb; msgspec gives up near 1,000 levels


def _prefix(endpoint: str, custom_id: str) -> bytes:
    """A good line of `endpoint` up to its body's last `}`, so an extra field can be appended."""
    return line(request(endpoint, custom_id)).rstrip(b"\n")[:-2]


def _bomb(endpoint: str, custom_id: str = "bomb", depth: int = DEPTH) -> bytes:
    nested = b"[" * depth + b"]" * depth
    return _prefix(endpoint, custom_id) + b', "extra": ' + nested + b"}}\n"


def _validate(endpoint: str, data: bytes, chunk: int = 1 << 20) -> ValidationReport:
    validator = Validator(endpoint)
    for start in range(0, len(data), chunk):
        validator.feed(data[start : start + chunk])
    return validator.finish()


def _codes(report: ValidationReport) -> list[tuple[str, int | None]]:
    return [(error.code, error.line) for error in report.errors]


def _good(endpoint: str, first: int, count: int) -> bytes:
    return jsonl(*(request(endpoint, f"r{index}") for index in range(first, first + count)))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("position", ["alone", "first", "after_a_clean_run", "inside_a_run"])
def test_a_nesting_bomb_fails_its_line_on_every_path(endpoint: str, position: str) -> None:
    # Runs of clean lines take the bulk and block paths; a bomb inside one must fall back, not escape.
    files = {
        "alone": (_bomb(endpoint), 1),
        "first": (_bomb(endpoint) + _good(endpoint, 0, 50), 1),
        "after_a_clean_run": (_good(endpoint, 0, 300) + _bomb(endpoint), 301),
        "inside_a_run": (_good(endpoint, 0, 300) + _bomb(endpoint) + _good(endpoint, 300, 300), 301),
    }
    data, bomb_line = files[position]
    report = _validate(endpoint, data)
    assert _codes(report) == [("nesting_too_deep", bomb_line)]
    assert report.requests == data.count(b"\n")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_bomb_in_any_field_or_at_the_top_is_a_line_error(endpoint: str) -> None:
    nested = b"[" * DEPTH + b"]" * DEPTH
    deep_object = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    lines = [
        b'{"custom_id": ' + nested + b', "method": "POST"}\n',
        b'{"custom_id": "x", "method": "POST", "url": "' + endpoint.encode() + b'", "body": ' + deep_object + b"}\n",
        deep_object + b"\n",
        nested + b"\n",  # a top-level array is not an object: no recursion needed to say so
    ]
    report = _validate(endpoint, b"".join(lines))
    assert [code for code, _ in _codes(report)] == [
        "nesting_too_deep",
        "nesting_too_deep",
        "nesting_too_deep",
        "invalid_json_line",
    ]
    assert [lineno for _, lineno in _codes(report)] == [1, 2, 3, 4]


def test_the_bomb_is_found_whatever_the_chunking() -> None:
    data = _good(CHAT, 0, 40) + _bomb(CHAT, depth=3000) + _good(CHAT, 40, 40)
    for chunk in (97, 4096, len(data)):
        assert _codes(_validate(CHAT, data, chunk)) == [("nesting_too_deep", 41)]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_lone_surrogates_huge_numbers_and_duplicate_keys(endpoint: str) -> None:
    # A number field the endpoint checks (moderations has none: its repeated `input` then holds the number).
    counted = {CHAT: b"n", COMPLETIONS: b"n", EMBEDDINGS: b"dimensions", MODERATIONS: b"input"}.get(
        endpoint, b"max_output_tokens"
    )
    # A repeated key: the last one counts (msgspec, like Python's json), so "x0" stays free for line 6.
    duplicated = line(request(endpoint, "ok-1")).replace(b'"custom_id":"ok-1"', b'"custom_id":"x0","custom_id":"ok-1"')
    assert duplicated.count(b'"custom_id"') == 2
    lines = [
        _prefix(endpoint, "x1") + rb', "note": "\ud800"}}' + b"\n",  # a lone high surrogate: not valid JSON text
        _prefix(endpoint, "x2") + rb', "note": "\udc00 low"}}' + b"\n",
        _prefix(endpoint, "x3") + b', "' + counted + b'": ' + b"9" * 400 + b"}}\n",  # outside int64: out of range
        _prefix(endpoint, "x4") + b', "' + counted + b'": 1e400}}\n',  # outside float64
        duplicated,
        line(request(endpoint, "x0")),
    ]
    report = _validate(endpoint, b"".join(lines))
    codes = _codes(report)
    assert codes[:2] == [("invalid_json_line", 1), ("invalid_json_line", 2)]
    assert {code for code, lineno in codes if lineno in (3, 4)} <= {"invalid_value", "invalid_type"}
    assert {lineno for _, lineno in codes} == {1, 2, 3, 4}


def test_the_cli_reports_a_bomb_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "input.jsonl"
    path.write_bytes(_good(CHAT, 0, 3) + _bomb(CHAT))
    result = CliRunner().invoke(
        validate_command, [str(path), "--endpoint", CHAT, "--json"], env={"BATCHGATE_CONFIG": ""}
    )
    assert result.exit_code == 1, result.output
    report = msgspec.json.decode(result.output)
    assert [(error["code"], error["line"]) for error in report["errors"]] == [("nesting_too_deep", 4)]
