"""The aggregate outcome rules over shards (see providers/openai_batch/aggregate.py)."""

from __future__ import annotations

import pytest

from providers.base import Finished, Running
from providers.openai_batch.aggregate import apply_view, outcome
from providers.openai_batch.state import Shard, State
from providers.openai_batch.wire import BatchView, CountsView, ErrorsView, ErrorView


def _state(*statuses: str, cancel: bool = False) -> State:
    shards = [
        Shard(index=i, first_line=10 * i, requests=10, bytes=1, status=s, completed=4, failed=1)
        for i, s in enumerate(statuses)
    ]
    return State(shards=shards, cancel_requested=cancel)


@pytest.mark.parametrize(
    ("statuses", "cancel", "expected"),
    [
        (("completed", "in_progress"), False, "in_progress"),
        (("finalizing", "finalizing", "completed"), False, "finalizing"),
        (("finalizing", "validating"), False, "in_progress"),
        (("completed", "in_progress"), True, "cancelling"),
    ],
)
def test_running_status(statuses: tuple[str, ...], cancel: bool, expected: str) -> None:
    result = outcome(_state(*statuses, cancel=cancel))
    assert isinstance(result, Running)
    assert result.status == expected
    assert result.progress.total == 10 * len(statuses)


@pytest.mark.parametrize(
    ("statuses", "cancel", "expected"),
    [
        (("completed", "completed"), False, "completed"),
        (("failed", "failed"), False, "failed"),
        (("completed", "failed"), False, "completed"),
        (("completed", "expired"), False, "expired"),
        (("cancelled", "expired"), True, "cancelled"),
        (("cancelled", "expired"), False, "expired"),
        (("completed", "cancelled"), False, "cancelled"),
        (("completed", "completed"), True, "completed"),
    ],
)
def test_finished_outcome(statuses: tuple[str, ...], cancel: bool, expected: str) -> None:
    result = outcome(_state(*statuses, cancel=cancel))
    assert isinstance(result, Finished)
    assert result.outcome == expected


def test_counts_sum_and_a_failed_shard_among_others_counts_as_failed() -> None:
    result = outcome(_state("completed", "failed", "completed"))
    assert isinstance(result, Finished)
    assert (result.progress.total, result.progress.completed, result.progress.failed) == (30, 12, 3 + 10)


def test_errors_keep_upstream_codes_and_lines_move_to_the_gateway_file() -> None:
    shard = Shard(index=1, first_line=100, requests=5, bytes=1)
    errors = ErrorsView(data=[ErrorView(code="invalid_json_line", message="bad", line=2), ErrorView(message="x")])
    apply_view(shard, BatchView(id="b", status="failed", request_counts=CountsView(total=5), errors=errors))
    result = outcome(State(shards=[shard]))
    assert isinstance(result, Finished)
    assert [(e.code, e.message, e.line) for e in result.errors] == [
        ("invalid_json_line", "bad", 102),
        ("upstream_error", "x", None),
    ]
