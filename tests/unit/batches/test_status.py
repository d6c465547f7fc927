from __future__ import annotations

from collections import deque

import msgspec
import pytest

from gateway.batches import TERMINAL, TRANSITIONS, BatchRecord, BatchStatus, can_transition, timestamp_field
from gateway.batches.lua import TRANSITION

S = BatchStatus


def _reachable(start: BatchStatus) -> set[BatchStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_the_table_names_every_status_and_openai_values() -> None:
    assert set(TRANSITIONS) == set(BatchStatus)
    assert {s.value for s in BatchStatus} == {
        "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled",
    }  # fmt: skip
    assert {S.FAILED, S.COMPLETED, S.EXPIRED, S.CANCELLED} == TERMINAL


def test_terminal_statuses_have_no_exits_and_others_reach_a_terminal() -> None:
    for status in BatchStatus:
        if status in TERMINAL:
            assert TRANSITIONS[status] == frozenset()
        else:
            assert _reachable(status) & TERMINAL, status


def test_every_status_is_reachable_from_validating_and_nothing_loops() -> None:
    assert _reachable(S.VALIDATING) == set(BatchStatus)
    for status in BatchStatus:
        assert status not in TRANSITIONS[status]
        assert S.VALIDATING not in TRANSITIONS[status]


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (S.VALIDATING, S.CANCELLED, True),
        (S.IN_PROGRESS, S.COMPLETED, False),
        (S.FINALIZING, S.CANCELLING, True),
        (S.CANCELLING, S.CANCELLED, True),
        (S.CANCELLING, S.COMPLETED, False),
        (S.CANCELLING, S.EXPIRED, False),
        (S.COMPLETED, S.CANCELLING, False),
    ],
)
def test_documented_choices(current: BatchStatus, to: BatchStatus, allowed: bool) -> None:
    assert can_transition(current, to) is allowed


def test_timestamp_fields_are_record_fields() -> None:
    names = {field.name for field in msgspec.structs.fields(BatchRecord)}
    assert timestamp_field(S.VALIDATING) == "created_at"
    assert timestamp_field(S.CANCELLING) == "cancelling_at"
    assert all(timestamp_field(status) in names for status in BatchStatus)


def test_the_lua_table_is_rendered_from_the_python_table() -> None:
    source = TRANSITION.source
    assert "['cancelling'] = {['cancelled'] = true}" in source
    assert "['completed'] = {}" in source
    assert "['validating'] = 'created_at'" in source
