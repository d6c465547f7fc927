"""The chat fast path's strict decode (no unknown fields) lets clean runs skip the UTF-8 pass; these pin that
bad UTF-8 is still found wherever it sits, and that files with extra fields fall back correctly."""

from __future__ import annotations

import json

from gateway.validation import validate_chunks

URL = "/v1/chat/completions"


def _line(custom_id: str, content: str = "hi", **extra: object) -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": content}], **extra}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": URL, "body": body}).encode() + b"\n"


def _codes(data: bytes) -> list[tuple[str, int | None]]:
    report = validate_chunks([data], URL)
    return [(error.code, error.line) for error in report.errors]


def test_bad_utf8_in_a_known_string_field_is_found() -> None:
    bad = _line("c", "XX").replace(b"XX", b"\xff\xfe")
    assert _codes(_line("a") + _line("b") + bad) == [("invalid_utf8", 3)]


def test_bad_utf8_after_lines_with_extra_fields_is_found() -> None:
    bad = _line("c", "XX", temperature=1).replace(b"XX", b"\xc3\x28")
    data = _line("a", logit_bias={"1": 2}) + _line("b", seed=3) + bad
    assert _codes(data) == [("invalid_utf8", 3)]


def test_extra_fields_alone_are_valid() -> None:
    data = b"".join(_line(f"r{i}", user="u", metadata_x=i) for i in range(50))
    report = validate_chunks([data], URL)
    assert report.valid
    assert report.requests == 50
