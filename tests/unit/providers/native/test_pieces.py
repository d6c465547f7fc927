"""Pure pieces of the native executor: URL joining, error envelopes, Retry-After, token estimates, AIMD."""

from __future__ import annotations

import asyncio
import email.utils
import time

import msgspec
import pytest

from providers.native.chunks import estimate_tokens
from providers.native.limits import AdaptiveLimit
from providers.native.lines import error_envelope, failure_line, response_line
from providers.native.transport import Delivered, _retry_after, join_url


@pytest.mark.parametrize(
    ("base", "endpoint", "url"),
    [
        ("http://h:1/v1", "/v1/chat/completions", "http://h:1/v1/chat/completions"),
        ("http://h:1/v1/", "/v1/embeddings", "http://h:1/v1/embeddings"),
        ("https://api.x.com/v1/openai", "/v1/completions", "https://api.x.com/v1/openai/v1/completions"),
    ],
)
def test_join_url(base: str, endpoint: str, url: str) -> None:
    assert join_url(base, endpoint) == url


def test_error_envelope_keeps_openai_envelopes_and_wraps_the_rest() -> None:
    envelope = b'{"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": null}}'
    assert error_envelope(400, envelope) == envelope
    wrapped = msgspec.json.decode(error_envelope(502, b"upstream exploded"))
    assert wrapped == {"error": {"message": "upstream exploded", "type": "upstream_error", "param": None,
                                 "code": "http_502"}}  # fmt: skip
    assert msgspec.json.decode(error_envelope(500, b""))["error"]["message"] == "upstream returned HTTP 500"


def test_line_shapes() -> None:
    ok = msgspec.json.decode(response_line("a", 200, "req_1", b'{"x": 1}'))
    assert ok["id"].startswith("batch_req_")
    response = {"status_code": 200, "request_id": "req_1", "body": {"x": 1}}
    assert ok | {"id": None} == {"id": None, "custom_id": "a", "response": response, "error": None}
    failed = msgspec.json.decode(failure_line("b", "request_failed", "no"))
    assert (failed["response"], failed["error"]) == (None, {"code": "request_failed", "message": "no"})


def test_retry_after_forms() -> None:
    assert _retry_after({"retry-after-ms": "1500"}) == 1.5
    assert _retry_after({"retry-after": "2"}) == 2.0
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (_retry_after({"retry-after": date}) or 0) <= 30.5
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({}) is None


def test_retryable_statuses() -> None:
    def status(code: int, json_ok: bool = True) -> bool:
        return Delivered(code, None, b"", None, json_ok, 0).retryable

    assert [status(c) for c in (408, 409, 429, 500, 503)] == [True] * 5
    assert [status(c) for c in (200, 400, 401, 404, 422)] == [False] * 5
    assert status(200, json_ok=False)


def test_estimate_tokens() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 50}
    assert 150 <= estimate_tokens(body) <= 160  # ~100 prompt + 50 output
    assert estimate_tokens({"input": "abcd" * 10}, "/v1/embeddings") == 10 + 0  # 42 chars of JSON string / 4
    responses = {"input": "abcd" * 10, "instructions": "ab", "max_output_tokens": 100}
    assert estimate_tokens(responses, "/v1/responses") == (42 + 4) // 4 + 100
    assert estimate_tokens({"input": "abcd" * 10, "max_tokens": 9}, "/v1/moderations") == 10  # no output


async def test_aimd_halves_on_overload_and_recovers() -> None:
    limit = AdaptiveLimit(64)
    limit.on_overload()
    limit.on_overload()  # within a second: one cut only
    assert limit.limit == 32
    for _ in range(2000):  # ~ (64^2 - 32^2) / 2 successes: about +1 per window of successes
        limit.on_success()
    assert limit.limit == 64


async def test_limit_hands_slots_over_in_order_and_survives_cancelled_waiters() -> None:
    limit = AdaptiveLimit(2)
    await limit.acquire()
    await limit.acquire()  # both slots taken without waiting
    order: list[str] = []

    async def waiter(name: str) -> None:
        await limit.acquire()
        order.append(name)

    first, gone, last = (asyncio.create_task(waiter(n)) for n in ("first", "gone", "last"))
    await asyncio.sleep(0)
    gone.cancel()
    limit.release()
    limit.release()
    await asyncio.gather(first, last)
    assert order == ["first", "last"]  # FIFO; the cancelled waiter was skipped, not handed a slot
    assert gone.cancelled()
    assert limit.in_use == 2


async def test_limit_cut_holds_back_waiters_until_the_limit_allows() -> None:
    limit = AdaptiveLimit(4)
    for _ in range(4):
        await limit.acquire()
    limit.on_overload()  # limit 2
    blocked = asyncio.create_task(limit.acquire())
    limit.release()
    limit.release()  # in use 2 == limit: nobody may start yet
    await asyncio.sleep(0.01)
    assert not blocked.done()
    limit.release()
    await asyncio.wait_for(blocked, 1)
    assert limit.in_use == 2
