"""A validated line reaches the upstream with its numbers as written, even those no float can hold (1e400 in a
field validation does not check): splitting it into chunks must neither fail nor round them."""

from __future__ import annotations

import msgspec

from gateway.validation.endpoints import ENDPOINTS
from providers.native.chunks import _chunk_line
from providers.native.lines import ChunkLine


def test_numbers_pass_through_as_written() -> None:
    raw = (
        b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","temperature":0.7,'
        b'"messages":[{"role":"user","content":"hi"}],"x":1e400,"y":[-1e-400,0.1,123456789012345678901234567890]}}'
    )
    chunk = msgspec.json.decode(_chunk_line(raw, "upstream-m", ENDPOINTS["/v1/chat/completions"]), type=ChunkLine)
    body = bytes(chunk.body)
    assert b'"model":"upstream-m"' in body
    assert b'"temperature":0.7' in body
    assert b'"x":1E+400' in body
    assert b'"y":[-1E-400,0.1,123456789012345678901234567890]' in body
