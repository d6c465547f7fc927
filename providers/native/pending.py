"""One claimed chunk's lines in flight: when the last one is recorded, the chunk may be acknowledged."""

from __future__ import annotations

import asyncio

from providers.native.rates import Rates

__all__ = ["Chunk"]


class Chunk:
    """The lines of one claimed stream entry still to finish; `done` resolves when none are left."""

    __slots__ = ("batch_id", "done", "endpoint", "expires_at", "rates", "remaining", "stopped")

    def __init__(self, batch_id: str, endpoint: str, lines: int, rates: Rates | None = None) -> None:
        self.batch_id, self.endpoint, self.remaining = batch_id, endpoint, lines
        self.rates = rates  # the route's price windows; None: no windows, usage is not kept per multiplier
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # What the last grants told about the batch: lines granted ahead of sending are dropped, not sent,
        # once the batch is past its expiry or has refused a grant (cancelled, closed or gone).
        self.expires_at = float("inf")
        self.stopped = False

    def line_done(self, error: BaseException | None) -> None:
        if error is not None:
            self.fail(error)
            return
        self.remaining -= 1
        if self.remaining <= 0 and not self.done.done():
            self.done.set_result(None)

    def fail(self, error: BaseException) -> None:
        """A line could not be run or recorded: the chunk is not acknowledged, so it is run again later."""
        if not self.done.done():
            self.done.set_exception(error)
