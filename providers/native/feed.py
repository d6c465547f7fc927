"""The lines waiting for a consumer: a FIFO that hands an item straight to a waiting consumer.

Not asyncio.Queue: it spends about ten Python calls per item on the executor's per-line path. Puts never
block here (the claim loop bounds how much is queued), so a deque of items and a deque of waiting
consumers are enough (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeVar

__all__ = ["LineFeed"]

T = TypeVar("T")


class LineFeed(Generic[T]):
    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[T]] = collections.deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Give `item` to the longest-waiting consumer, or queue it."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled consumer is skipped
                waiter.set_result(item)
                return
        self._items.append(item)

    def put_front(self, item: T) -> None:
        """Queue `item` ahead of the rest (an item handed to a consumer that was cancelled before taking it)."""
        if self._waiters:
            self.put(item)
        else:
            self._items.appendleft(item)

    async def get(self) -> T:
        if self._items:
            return self._items.popleft()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put_front(waiter.result())  # handed over just as we were cancelled: not lost
            raise
