"""`POST /v1/batches` bodies that attack the decoder: each is a 400 with a named reason, never an exception."""

from __future__ import annotations

import pytest

from gateway.batches.create_request import decode_create_request
from gateway.core.errors import InvalidRequest

EXPIRY = b', "output_expires_after": {"anchor": "created_at", "seconds": '
GOOD = b'"input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "24h"'


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{" + GOOD + b', "extra": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "invalid_json"),
        (b"{" + GOOD + b', "extra": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}", "invalid_json"),
        (b"[" * 30_000, "invalid_value"),  # not an object: refused before any recursion
        (b"{" + GOOD + rb', "metadata": {"k": "\ud800"}}', "invalid_json"),
        (b"{" + GOOD + EXPIRY + b"1e400}}", "invalid_value"),
        (b"{" + GOOD + EXPIRY + b"9" * 400 + b"}}", "invalid_value"),
    ],
    ids=["array_bomb", "object_bomb", "unclosed_bomb", "lone_surrogate", "float_overflow", "huge_int"],
)
def test_hostile_bodies_are_invalid_requests(body: bytes, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_create_request(body)
    assert caught.value.status_code == 400
    assert caught.value.code == code


def test_a_repeated_key_takes_its_last_value() -> None:
    request = decode_create_request(b'{"input_file_id": "file-a", ' + GOOD + b"}")
    assert request.input_file_id == "file-x"
