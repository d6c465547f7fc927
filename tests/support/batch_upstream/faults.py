"""Faults injected on demand: the next N calls of a route answer an error, hang, or fail after committing."""

from __future__ import annotations

import threading
from typing import Literal

import msgspec

__all__ = ["Fault", "Faults", "Route"]

Route = Literal["upload", "list_files", "delete_file", "content", "create", "list_batches", "retrieve", "cancel"]


class Fault(msgspec.Struct, kw_only=True):
    route: Route
    count: int = 1
    status: int = 503
    retry_after: str | None = None  # sent as `Retry-After`
    retry_after_ms: int | None = None  # sent as `retry-after-ms`
    hang_seconds: float = 0.0  # > 0: sleep this long before answering (a timeout for the client)
    after_commit: bool = False  # do the work, then answer the error anyway ("5xx after committing")
    slow_only: bool = False  # with hang_seconds: then answer normally (a slow upstream, not a failing one)
    malformed: bool = False  # answer 200 with a cut-off JSON body instead of `status` (a lying proxy)


class Faults:
    """A thread-safe queue of faults: tests add them from their thread, the server consumes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, route: Route) -> Fault | None:
        """The first pending fault of `route`, with one use consumed."""
        with self._lock:
            for fault in self._pending:
                if fault.route == route and fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
