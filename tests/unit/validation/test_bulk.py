"""The chat bulk path (`decode_lines` per block): it must take exactly the regions the line-by-line path
would find clean, and refuse the shapes `decode_lines` alone would accept (it reads a newline as
whitespace): two values on a line, a blank line, a value spanning lines."""

from __future__ import annotations

import pytest

from gateway.validation import ValidationReport, Validator, validate_chunks
from gateway.validation.bulk import BLOCK_BYTES, decode_bulk
from gateway.validation.endpoints import ENDPOINTS, Bulk
from tests.unit.validation.builders import CHAT, line, request

PLAIN, GENERAL = ENDPOINTS[CHAT].bulk  # fastest first


def _line(custom_id: str, **body: object) -> bytes:
    return line(request(CHAT, custom_id, **body))


def _bulk(region: bytes, variant: Bulk = GENERAL) -> tuple[list[str], int, int] | None:
    return decode_bulk(variant.decoder_for("m").decode_lines, variant.output_tokens, region, 0, len(region))


def _codes(report: ValidationReport) -> list[tuple[str, int | None]]:
    return [(error.code, error.line) for error in report.errors]


def _both_ways(rest: bytes) -> ValidationReport:
    """Line 1 alone sets the model, so the second chunk's region may take the bulk path; one chunk may not."""
    first = _line("first")
    bulk = validate_chunks([first, rest], CHAT)
    assert bulk == validate_chunks([first + rest], CHAT)
    return bulk


@pytest.mark.parametrize("variant", [PLAIN, GENERAL])
def test_a_clean_region_gives_ids_in_order_bytes_and_output_tokens(variant: Bulk) -> None:
    lines = [_line(f"r{index}", max_tokens=index + 1) for index in range(600)]  # past one block
    unset = request(CHAT, "none")
    del unset["body"]["max_tokens"]  # the default output budget applies
    region = b"".join(lines) + line(unset) + _line("warm", temperature=0.5, top_p=1)
    assert len(region) > BLOCK_BYTES
    run = _bulk(region, variant)
    ids = [f"r{index}" for index in range(600)] + ["none", "warm"]
    assert run == (ids, len(region) - 602, sum(range(1, 601)) + 4096 + 10)


@pytest.mark.parametrize(
    "extra", [{"n": 1}, {"n": 2}, {"max_completion_tokens": 5}, {"seed": 3}, {"stream": False}, {"max_tokens": None}]
)
def test_the_plain_variant_leaves_less_common_fields_to_the_general_one(extra: dict[str, int | None]) -> None:
    region = _line("a", **extra)
    assert _bulk(region, PLAIN) is None
    assert _bulk(region, GENERAL) is not None


def test_output_tokens_follow_the_chat_rule() -> None:
    region = _line("a", max_completion_tokens=5, max_tokens=99, n=3) + _line("b", max_tokens=None)
    run = _bulk(region)
    assert run is not None
    assert run[2] == 5 * 3 + 4096


def test_a_file_that_needs_the_general_variant_midway_is_counted_in_full() -> None:
    plain = b"".join(_line(f"p{index}", max_tokens=3) for index in range(50))
    general = b"".join(_line(f"g{index}", max_tokens=3, n=2) for index in range(50))
    report = _both_ways(plain + general + plain.replace(b'"custom_id":"p', b'"custom_id":"q'))
    assert report.valid
    assert report.max_output_tokens == 10 + 50 * 3 + 50 * 6 + 50 * 3


@pytest.mark.parametrize(
    "region",
    [
        _line("a").rstrip() + _line("b") + b"\n" + _line("c"),  # two values on a line, then a blank line
        _line("a").rstrip() + b" " + _line("b") + b"  \n",  # two values on a line, then spaces only
        _line("a").replace(b',"body"', b',\n"body"') + _line("b").rstrip() + _line("c"),  # spanning, then two
        _line("a") + _line("b").rstrip() + _line("c"),  # more values than lines, at the end of the buffer
        _line("a").replace(b"\n", b"\r\n"),  # valid, but not the bulk path's shape
        b" " + _line("a"),  # valid, but not the bulk path's shape
        _line("a", model="other"),  # another model: the line-by-line path names it
        _line("a") + b"\n",  # a blank line at the end of a region: an error only if a request follows
    ],
)
def test_shapes_decode_lines_would_accept_are_refused(region: bytes) -> None:
    assert _bulk(region) is None


def test_two_values_on_a_line_and_a_blank_line_are_both_reported() -> None:
    report = _both_ways(_line("a").rstrip() + _line("b") + b"\n" + _line("c"))
    assert _codes(report) == [("invalid_json_line", 2), ("blank_line", 3)]
    assert report.requests == 3


def test_a_value_spanning_lines_and_two_values_on_a_line_are_both_reported() -> None:
    spanning = _line("a").replace(b',"body"', b',\n"body"')
    report = _both_ways(spanning + _line("b").rstrip() + _line("c"))
    assert _codes(report) == [("invalid_json_line", 2), ("invalid_json_line", 3), ("invalid_json_line", 4)]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b" \n"])
def test_clean_files_give_the_same_report_whatever_the_path(ending: bytes) -> None:
    rest = b"".join(_line(f"r{index}", max_tokens=index + 1).replace(b"\n", ending) for index in range(300))
    report = _both_ways(rest)
    assert report.valid
    assert report.requests == 301
    assert report.max_output_tokens == 10 + sum(range(1, 301))


def test_a_duplicate_across_bulk_regions_is_found_on_its_line() -> None:
    report = _both_ways(b"".join(_line(f"r{index}") for index in range(100)) + _line("r7"))
    assert _codes(report) == [("duplicate_custom_id", 102)]


def test_repeats_in_later_regions_are_each_found_after_the_first() -> None:
    """A refused region resets the seen-set from the ids taken so far: none of them may be forgotten."""
    first = b"".join(_line(f"r{index}") for index in range(100))
    second = b"".join(_line(f"s{index}") for index in range(50)) + _line("r3")
    third = b"".join(_line(f"t{index}") for index in range(50)) + _line("r90") + _line("s7")
    fourth = b"".join(_line(f"u{index}") for index in range(50)) + _line("u3")  # a repeat within the run
    report = validate_chunks([_line("head"), first, second, third, fourth, _line("last")], CHAT)
    repeats = [("duplicate_custom_id", number) for number in (152, 203, 204, 255)]
    assert _codes(report) == repeats
    assert report.requests == 256


def test_custom_ids_come_back_in_line_order_whatever_the_path() -> None:
    ids = ["first"] + [f"id-{(index * 7919) % 1000}" for index in range(1000)]  # not sorted
    rest = b"".join(_line(custom_id) for custom_id in ids[1:])
    validator = Validator(CHAT)
    for chunk in (_line("first"), rest[:5000], rest[5000:]):  # line path, bulk path, a line across chunks
        validator.feed(chunk)
    assert validator.finish().valid
    assert list(validator.custom_ids()) == ids


def test_lines_with_fields_the_strict_types_refuse_take_the_checked_bulk_path() -> None:
    (checked,) = ENDPOINTS[CHAT].checked_bulk
    region = b"".join(_line(f"r{index}", user="u", response_format={"type": "json_object"}) for index in range(300))
    assert _bulk(region, GENERAL) is None
    assert _bulk(region, checked) == ([f"r{index}" for index in range(300)], len(region) - 300, 300 * 10)
    report = _both_ways(region)
    assert report.valid
    assert report.requests == 301


def test_bad_utf8_in_an_unknown_field_is_found_after_bulk_regions() -> None:
    good = b"".join(_line(f"r{index}", user="u") for index in range(300))
    bad = _line("bad", user="XX").replace(b"XX", b"\xff")
    report = _both_ways(good + bad + good.replace(b'"custom_id":"r', b'"custom_id":"s'))
    assert _codes(report) == [("invalid_utf8", 302)]
