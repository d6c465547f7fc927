from __future__ import annotations

import json

import msgspec
import pytest

from gateway.batches import (
    TRANSITIONS,
    BatchError,
    BatchRecord,
    BatchStatus,
    BatchUsage,
    RequestCounts,
    timestamp_field,
    to_list,
    to_wire,
)
from tests.support.schemas import assert_matches, validator

_BATCH_KEYS = set(validator("Batch").schema["properties"])


def _record_at(status: BatchStatus) -> BatchRecord:
    """A record as the lifecycle would leave it at `status`, with that status's timestamp set."""
    record = BatchRecord(
        id="batch_01",
        tenant="secret-tenant",
        endpoint="/v1/chat/completions",
        input_file_id="file-1",
        created_at=1_700_000_000,
        expires_at=1_700_086_400,
        status=status,
        provider="deepseek",
        provider_state=b"{}",
    )
    changes: dict[str, object] = {} if status is BatchStatus.VALIDATING else {timestamp_field(status): 1_700_000_100}
    if status is BatchStatus.FAILED:
        changes["errors"] = (BatchError(code="empty_file", message="no requests"),)
    if status is BatchStatus.COMPLETED:
        changes |= {"output_file_id": "file-out", "model": "deepseek-chat", "metadata": {"k": "v"}}
        changes |= {"request_counts": RequestCounts(total=2, completed=2), "usage": BatchUsage(total_tokens=3)}
    return msgspec.structs.replace(record, **changes)


@pytest.mark.parametrize("status", list(BatchStatus))
def test_to_wire_matches_the_schema_with_every_key(status: BatchStatus) -> None:
    wire = json.loads(msgspec.json.encode(to_wire(_record_at(status))))
    assert_matches("Batch", wire)
    assert set(wire) == _BATCH_KEYS
    assert wire["status"] == status.value
    assert wire[timestamp_field(status)] == (1_700_000_100 if status is not BatchStatus.VALIDATING else 1_700_000_000)
    unset = [name for name in _BATCH_KEYS if name.endswith("_at") and wire[name] is None]
    assert len(unset) == 7 - (status is not BatchStatus.VALIDATING)  # nulls, not missing keys
    assert "secret-tenant" not in json.dumps(wire)
    assert "provider" not in wire


def test_errors_render_as_an_openai_list() -> None:
    wire = json.loads(msgspec.json.encode(to_wire(_record_at(BatchStatus.FAILED))))
    assert wire["errors"] == {
        "object": "list",
        "data": [{"code": "empty_file", "message": "no requests", "param": None, "line": None}],
    }


def test_list_pages_match_the_schema() -> None:
    records = [_record_at(status) for status in TRANSITIONS]
    page = json.loads(msgspec.json.encode(to_list(records, has_more=True)))
    assert_matches("ListBatchesResponse", page)
    assert (page["first_id"], page["last_id"], page["has_more"]) == ("batch_01", "batch_01", True)
    empty = json.loads(msgspec.json.encode(to_list([], has_more=False)))
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
