"""Attempt grants asked for in groups, ahead of the consumers that send the lines.

Every attempt must be granted by RESERVE before it is sent (that is what bounds sends per line by
`max_attempts`, whatever crashes). Asking for one line at a time would cost a future, a suspension and a
Redis op per line (docs/decisions.md), so the lines waiting for a grant are granted in groups
(one RESERVE op per group and batch) into a stock of ready lines about as large as the concurrency limit,
topped up when a quarter of it has been used, so a consumer normally takes a granted line without waiting.

What the stock changes, and why it is safe:
- A killed worker burns the grants of its stock as well as those of its requests in flight: a line can only
  lose attempts (it may end `request_failed` sooner), never be sent more than `max_attempts` times.
- A line granted ahead of sending is dropped (its grant given back) if, by the time a consumer takes it,
  its batch is past its expiry or a later grant for the batch was refused (cancelled, closed or gone), so a
  finished batch gets at most its requests in flight afterwards.
- Granted lines count as in flight for a cancelled batch, which closes once they are sent or given back.
"""

from __future__ import annotations

import asyncio
import collections
import functools

from providers.native.feed import LineFeed
from providers.native.ledger import Grants, Ledger
from providers.native.limits import AdaptiveLimit
from providers.native.lines import ChunkLine
from providers.native.pending import Chunk
from providers.native.runner import exhausted_line, served_of
from providers.native.transport import Attempt

__all__ = ["Granted", "Granter", "Waiting"]

Waiting = tuple[Chunk, ChunkLine, Attempt | None]  # a line, and its last attempt if this is a retry
Granted = tuple[Chunk, ChunkLine, int]  # a line with the attempt number it was granted
_DONE = -1  # RESERVE: the line already has an outcome (every other negative code stops its batch)


class Granter:
    def __init__(self, ledger: Ledger, limit: AdaptiveLimit, max_attempts: int) -> None:
        self._ledger = ledger
        self._limit = limit
        self._max_attempts = max_attempts
        self._waiting: collections.deque[Waiting] = collections.deque()
        self._ready: LineFeed[Granted] = LineFeed()
        self._granting = 0  # lines whose RESERVE is on its way
        self.queued = 0  # lines added and not yet taken (waiting, being granted or ready): a plain counter

    def add(self, item: Waiting) -> None:
        """A line to run again (a retry)."""
        self._waiting.append(item)
        self.queued += 1
        self._top_up()

    def add_chunk(self, chunk: Chunk, lines: list[ChunkLine]) -> None:
        """A claimed chunk's lines (all at once, so they are granted in groups from the start)."""
        self._waiting.extend((chunk, line, None) for line in lines)
        self.queued += len(lines)
        self._top_up()

    async def take(self) -> Granted:
        """The next granted line; waits only when the stock is empty."""
        granted = await self._ready.get()
        self.queued -= 1
        self._top_up()
        return granted

    def _top_up(self) -> None:
        target = int(self._limit.limit)
        room = target - len(self._ready) - self._granting
        if not self._waiting or room < max(1, target // 4):  # a group of at least a quarter of the stock
            return
        groups: dict[Chunk, list[Waiting]] = {}
        for _ in range(min(room, len(self._waiting))):
            item = self._waiting.popleft()
            groups.setdefault(item[0], []).append(item)
        for chunk, items in groups.items():
            self._granting += len(items)
            future = self._ledger.reserve_many(chunk.batch_id, [item[1].custom_id for item in items])
            future.add_done_callback(functools.partial(self._granted, items))

    def _granted(self, items: list[Waiting], future: asyncio.Future[object]) -> None:
        self._granting -= len(items)
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is not None:  # not granted: the chunk is run again later (see ChunkWorker._run_chunk)
            self.queued -= len(items)
            for chunk, _, _ in items:
                chunk.fail(error)
            return
        grants = future.result()
        assert isinstance(grants, Grants)
        for item, attempt in zip(items, grants.attempts, strict=True):
            self._sort(item, attempt, grants.expires_at)
        self._top_up()

    def _sort(self, item: Waiting, attempt: int, expires_at: int) -> None:
        chunk, line, last = item
        chunk.expires_at = expires_at or chunk.expires_at
        if 0 < attempt <= self._max_attempts:
            self._ready.put((chunk, line, attempt))
            return
        self.queued -= 1
        if attempt > self._max_attempts:  # every attempt used, some by workers that died before answering
            text, ok = exhausted_line(line.custom_id, last)
            served = served_of(chunk, last)
            self._ledger.record(chunk.batch_id, line.custom_id, text, ok=ok, done=chunk.line_done, served=served)
            return
        chunk.stopped = chunk.stopped or attempt != _DONE
        chunk.line_done(None)  # done elsewhere, cancelled, expired or cleaned up: nothing to send
