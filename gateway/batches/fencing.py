"""The claim a worker step holds, as ambient context for the store's writes and the provider's guard.

`holding(claim, store)` marks the code run inside as the step of `claim`: every `BatchStore` write to that
batch then carries the claim's fencing token (refused with `LeaseLostError` once a newer claim adopted the
batch), and providers' `check_lease()` / `save_state()` (see `providers.fencing`) act on the same claim.
A context variable, not a parameter, because the writes sit deep in steps and providers that should not
thread a token through every call; each step runs in its own task, so steps never see each other's claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Protocol

from gateway.batches.schedule import Claim
from providers.fencing import LeaseLostError, guarded

__all__ = ["FencedStore", "LeaseLostError", "holding", "token_for"]


class FencedStore(Protocol):
    """What a claim's guard needs of the batch store (`BatchStore`, which itself imports this module)."""

    async def check_fence(self, claim: Claim) -> None: ...

    async def update(self, batch_id: str, updates: Mapping[str, object]) -> object: ...


_claim: ContextVar[Claim | None] = ContextVar("batchgate_claim", default=None)


def token_for(batch_id: str) -> str:
    """The fencing token to send with a write to `batch_id`: the running step's, or '' (unfenced)."""
    claim = _claim.get()
    return str(claim.token) if claim is not None and claim.batch_id == batch_id else ""


class _ClaimGuard:
    """`providers.fencing.StepGuard` for one claim."""

    def __init__(self, claim: Claim, store: FencedStore) -> None:
        self._claim = claim
        self._store = store

    async def check_lease(self) -> None:
        await self._store.check_fence(self._claim)

    async def save_state(self, state: bytes) -> None:
        await self._store.update(self._claim.batch_id, {"provider_state": state})


@contextlib.contextmanager
def holding(claim: Claim, store: FencedStore) -> Iterator[None]:
    token = _claim.set(claim)
    try:
        with guarded(_ClaimGuard(claim, store)):
            yield
    finally:
        _claim.reset(token)
