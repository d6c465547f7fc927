"""Which price bucket a line lands in, read once a minute from the executor's clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from accounting.price_windows import PriceWindow
from providers.native.rates import Rates, decode_windows, encode_windows

PEAK = (PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),)
AT_0359 = dt.datetime(2030, 1, 7, 3, 59, 30, tzinfo=dt.UTC).timestamp()


def test_the_bucket_follows_the_clock_across_a_window_edge() -> None:
    now = [AT_0359]
    rates = Rates(PEAK, lambda: now[0])
    assert rates.bucket() == b"2"
    now[0] += 29  # 03:59:59, the same minute: still peak
    assert rates.bucket() == b"2"
    now[0] += 1  # 04:00:00
    assert rates.bucket() == b"1"


def test_served_reads_the_usage_of_a_chat_or_responses_body() -> None:
    rates = Rates(PEAK, lambda: AT_0359)
    chat = {"usage": {"prompt_tokens": 40, "completion_tokens": 9, "prompt_cache_hit_tokens": 10}}
    assert rates.served("/v1/chat/completions", msgspec.json.encode(chat)) == b"2:40:10:9:0"
    responses = {"usage": {"input_tokens": 30, "output_tokens": 8, "output_tokens_details": {"reasoning_tokens": 4}}}
    assert rates.served("/v1/responses", msgspec.json.encode(responses)) == b"2:30:0:8:4"
    assert rates.served("/v1/chat/completions", b'{"error": {"message": "x"}}') == b""
    assert rates.served("/v1/chat/completions", b"not json") == b""


def test_windows_round_trip_through_the_batch_meta() -> None:
    assert decode_windows(encode_windows(PEAK)) == PEAK
