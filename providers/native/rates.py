"""Which price bucket a line served now goes into, and its tokens in the form RECORD adds them up.

A batch on a route with price windows records each line's usage under the multiplier in effect when the
upstream answered it (`served:<multiplier>:<kind>` on the batch's meta hash, see scripts.RECORD). The
multiplier can only change on a whole minute, so it is looked up once per minute, not once per line.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from accounting.price_windows import PriceWindow, multiplier_at
from accounting.served import bucket_key
from accounting.usage import body_usage
from gateway.core.clock import Clock
from gateway.validation.endpoints import ENDPOINTS
from gateway.validation.usage import ChatUsage

__all__ = ["Rates", "decode_windows", "encode_windows"]

_windows_decoder = msgspec.json.Decoder(tuple[PriceWindow, ...])


def encode_windows(windows: Sequence[PriceWindow]) -> bytes:
    return msgspec.json.encode(tuple(windows))


def decode_windows(data: bytes) -> tuple[PriceWindow, ...]:
    return _windows_decoder.decode(data)


class Rates:
    """The price windows of one batch's route, read against the executor's clock."""

    __slots__ = ("_bucket", "_clock", "_until", "_windows")

    def __init__(self, windows: Sequence[PriceWindow], clock: Clock) -> None:
        self._windows = tuple(windows)
        self._clock = clock
        self._until = float("-inf")
        self._bucket = b"1"

    def bucket(self) -> bytes:
        """The bucket name of the multiplier in effect now."""
        now = self._clock()
        if not (self._until - 60 <= now < self._until):
            self._bucket = bucket_key(multiplier_at(self._windows, now)).encode()
            self._until = (now // 60 + 1) * 60
        return self._bucket

    def served(self, endpoint: str, body: bytes) -> bytes:
        """`<bucket>:<input>:<cached>:<output>:<reasoning>` for a body that reports usage, else empty."""
        spec = ENDPOINTS.get(endpoint)
        counts = body_usage(spec.usage if spec is not None else ChatUsage)(body)
        if counts is None:
            return b""
        return b"%b:%d:%d:%d:%d" % (self.bucket(), *counts)
