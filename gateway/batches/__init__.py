"""Batch records, their lifecycle and the shared work schedule, in Redis (the core of the Batches API)."""

from gateway.batches.events import BatchEvent
from gateway.batches.fencing import LeaseLostError, holding
from gateway.batches.legs import Leg, leg_batch_id
from gateway.batches.records import BatchRecord
from gateway.batches.schedule import Claim, Schedule
from gateway.batches.status import TERMINAL, TRANSITIONS, BatchStatus, can_transition, timestamp_field
from gateway.batches.store import NON_TERMINAL, BatchStore, IllegalTransitionError, TooManyBatchesInFlightError
from gateway.batches.view import to_list, to_wire
from gateway.batches.wire import (
    BatchError,
    BatchErrors,
    BatchList,
    BatchObject,
    BatchUsage,
    InputTokensDetails,
    OutputTokensDetails,
    RequestCounts,
)

__all__ = [
    "NON_TERMINAL",
    "TERMINAL",
    "TRANSITIONS",
    "BatchError",
    "BatchErrors",
    "BatchEvent",
    "BatchList",
    "BatchObject",
    "BatchRecord",
    "BatchStatus",
    "BatchStore",
    "BatchUsage",
    "Claim",
    "IllegalTransitionError",
    "InputTokensDetails",
    "LeaseLostError",
    "Leg",
    "OutputTokensDetails",
    "RequestCounts",
    "Schedule",
    "TooManyBatchesInFlightError",
    "can_transition",
    "holding",
    "leg_batch_id",
    "timestamp_field",
    "to_list",
    "to_wire",
]
