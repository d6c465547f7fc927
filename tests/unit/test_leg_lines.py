"""Which result lines a route finished (kept) and which the next route may still run (ARCHITECTURE.md §2.4)."""

from __future__ import annotations

import json

import pytest

from gateway.worker.results import standing


def _response(status: int) -> bytes:
    return json.dumps(
        {"id": "r", "custom_id": "x", "response": {"status_code": status, "body": {}}, "error": None}
    ).encode()


def _error(code: str) -> bytes:
    return json.dumps({"id": "r", "custom_id": "x", "response": None, "error": {"code": code, "message": "m"}}).encode()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (_response(200), "succeeded"),
        (_response(400), "failed"),  # an answer about the request: another route would answer the same
        (_response(404), "failed"),
        (_response(429), "unfinished"),  # the route's own retries ran out on load or outages
        (_response(500), "unfinished"),
        (_response(503), "unfinished"),
        (_response(501), "failed"),
        (_error("batch_expired"), "unfinished"),  # the upstream batch ended before the line ran
        (_error("batch_cancelled"), "unfinished"),
        (_error("batch_failed"), "unfinished"),
        (_error("request_timeout"), "unfinished"),  # native: every attempt timed out
        (_error("request_failed"), "unfinished"),
        (_error("malformed_response"), "failed"),
        (_error("invalid_request"), "failed"),
    ],
)
def test_standing_of_a_result_line(line: bytes, expected: str) -> None:
    assert standing(line) == ("x", expected)


def test_lines_without_a_custom_id_are_not_results() -> None:
    assert standing(b"not json") is None
    assert standing(b'{"response": null}') is None
