from __future__ import annotations

import random

import pytest

from gateway.validation import ValidationLimits, ValidationReport, Validator, validate_chunks
from tests.unit.validation.builders import CHAT, EMBEDDINGS, jsonl, request
from tests.unit.validation.corpus import CASES, GOOD_FILES

ALL_FILES = [(case[0], case[1], case[2]) for case in CASES] + GOOD_FILES


def _chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, start = [], 0
    for size in sizes:
        chunks.append(data[start : start + size])
        start += size
    return [*chunks, data[start:]]


def _reports(endpoint: str, data: bytes, seed: int, **kwargs: object) -> list[ValidationReport]:
    rng = random.Random(seed)
    whole = validate_chunks([data], endpoint, **kwargs)  # type: ignore[arg-type]
    byte_by_byte = validate_chunks([data[i : i + 1] for i in range(len(data))], endpoint, **kwargs)  # type: ignore[arg-type]
    ragged = validate_chunks(_chunked(data, [rng.randint(1, 64) for _ in range(len(data) // 8)]), endpoint, **kwargs)  # type: ignore[arg-type]
    return [whole, byte_by_byte, ragged]


@pytest.mark.parametrize(("endpoint", "data"), [f[1:] for f in ALL_FILES], ids=[f[0] for f in ALL_FILES])
def test_any_chunking_gives_the_same_report(endpoint: str, data: bytes) -> None:
    whole, *others = _reports(endpoint, data, seed=len(data))
    assert all(other == whole for other in others)


def _mixed_file() -> bytes:
    """~1.5 MB of good lines with problems scattered across what become 64 KiB chunk boundaries."""
    filler = "lorem ipsum " * 40
    lines: list[object] = []
    for index in range(3000):
        lines.append(request(CHAT, f"r{index}", messages=[{"role": "user", "content": filler}]))
        if index % 397 == 5:
            lines.append(b"{broken\n")
        if index % 501 == 7:
            lines.append(request(CHAT, "r3"))  # duplicate id
        if index % 613 == 9:
            lines.append(request(CHAT, f"x{index}", model="other"))
        if index % 777 == 11:
            lines.append(b"\n")
    return jsonl(*lines)


def test_fast_block_path_and_line_by_line_path_agree_on_a_large_mixed_file() -> None:
    data = _mixed_file()
    by_blocks = validate_chunks([data[i : i + 65536] for i in range(0, len(data), 65536)], CHAT)
    by_lines = validate_chunks([data[i : i + 97] for i in range(0, len(data), 97)], CHAT)  # never a whole block
    assert by_blocks == by_lines
    codes = {error.code for error in by_blocks.errors}
    assert codes == {"invalid_json_line", "duplicate_custom_id", "model_mismatch", "blank_line"}
    assert by_blocks.requests == data.count(b"\n") - 4


def test_limits_crossed_inside_a_block_still_name_the_line() -> None:
    data = jsonl(*(request(EMBEDDINGS, f"e{index}", input=["a", "b"]) for index in range(100)))
    report = validate_chunks([data], EMBEDDINGS, limits=ValidationLimits(max_embedding_inputs=101))
    assert [(error.code, error.line) for error in report.errors] == [("too_many_embedding_inputs", 51)]


def test_memoryview_and_bytearray_chunks_are_accepted() -> None:
    data = jsonl(request(CHAT, "a"), request(CHAT, "b"))
    validator = Validator(CHAT)
    validator.feed(bytearray(data[:10]))
    validator.feed(data[10:])
    assert validator.finish().valid


def test_feed_after_finish_is_an_error() -> None:
    validator = Validator(CHAT)
    validator.feed(jsonl(request(CHAT)))
    first = validator.finish()
    assert validator.finish() == first
    with pytest.raises(RuntimeError):
        validator.feed(b"{}\n")


def test_a_line_spanning_many_chunks_beyond_the_limit_is_dropped_not_held() -> None:
    validator = Validator(CHAT, limits=ValidationLimits(max_line_bytes=1000))
    validator.feed(jsonl(request(CHAT, "a")))
    for _ in range(100):
        validator.feed(b"x" * 100)
        assert len(validator._splitter._tail) <= 1000  # memory stays bounded while the line goes on
    validator.feed(b"\n" + jsonl(request(CHAT, "b")))
    report = validator.finish()
    assert [(error.code, error.line) for error in report.errors] == [("line_too_long", 2)]
    assert report.requests == 3
