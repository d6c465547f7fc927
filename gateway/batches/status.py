"""Batch status: OpenAI's eight values, the terminal set and the allowed transitions, as data.

The table below is the one source of truth: `store.py` renders it into the Lua compare-and-set script,
and the tests walk every (from, to) pair against it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL", "TRANSITIONS", "BatchStatus", "can_transition", "timestamp_field"]


class BatchStatus(StrEnum):
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


S = BatchStatus

TERMINAL: frozenset[BatchStatus] = frozenset({S.FAILED, S.COMPLETED, S.EXPIRED, S.CANCELLED})

TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    # validating: passes (in_progress), fails validation (failed), is cancelled, or the window ends
    # before validation finished (expired: no lines ran, all go to the error file as batch_expired).
    # It may become `cancelled` directly: nothing ran, so there is nothing in flight to wait for.
    S.VALIDATING: frozenset({S.IN_PROGRESS, S.FAILED, S.CANCELLING, S.CANCELLED, S.EXPIRED}),
    # in_progress: all lines done (finalizing), user cancel, window end, or an unrecoverable upstream
    # failure. It never jumps to completed: results are always prepared in `finalizing` first, so
    # `finalizing_at` is set on every completed batch.
    S.IN_PROGRESS: frozenset({S.FINALIZING, S.CANCELLING, S.EXPIRED, S.FAILED}),
    # finalizing: results stored (completed); the window ran out while merging (expired: keeps what
    # finished); storing results failed for good (failed); OpenAI lists finalizing among the statuses
    # a cancel is accepted from, so cancelling is allowed too (the results found so far are kept).
    S.FINALIZING: frozenset({S.COMPLETED, S.EXPIRED, S.FAILED, S.CANCELLING}),
    # cancelling: always ends `cancelled`, with whatever finished in the output file. An upstream that
    # completed, expired or failed meanwhile still yields `cancelled` (the user's request came first,
    # and "cancel keeps finished results" covers all of these); one terminal state per cancel keeps
    # clients and the accounting simple.
    S.CANCELLING: frozenset({S.CANCELLED}),
    # Terminal statuses never change.
    S.FAILED: frozenset(),
    S.COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(current: BatchStatus, to: BatchStatus) -> bool:
    return to in TRANSITIONS[current]


def timestamp_field(status: BatchStatus) -> str:
    """The Batch field stamped when `status` is reached (`created_at` for the initial `validating`)."""
    return "created_at" if status is BatchStatus.VALIDATING else f"{status.value}_at"
