from __future__ import annotations

import msgspec
import pytest

from gateway.batches import BatchError, BatchRecord, BatchStatus, BatchUsage, RequestCounts
from gateway.batches.records import decode_hash, encode_hash, encode_updates
from gateway.batches.wire import InputTokensDetails


def _record(**changes: object) -> BatchRecord:
    base = BatchRecord(id="batch_1", tenant="t", endpoint="/v1/chat/completions", input_file_id="file-1", created_at=5)
    return msgspec.structs.replace(base, **changes)


def _as_reply(fields: dict[str, bytes]) -> dict[bytes, bytes]:
    return {name.encode(): value for name, value in fields.items()}


def test_hash_round_trip_of_a_full_record() -> None:
    record = _record(
        status=BatchStatus.COMPLETED,
        errors=(BatchError(code="invalid_json_line", message="bad", line=3),),
        usage=BatchUsage(input_tokens=10, input_tokens_details=InputTokensDetails(cached_tokens=4), total_tokens=10),
        request_counts=RequestCounts(total=3, completed=2, failed=1),
        provider_state=b"\x00\xff{opaque}",
        metadata={"k": "v"},
        completed_at=9,
    )
    fields = encode_hash(record)
    assert fields["status"] == b"completed"  # plain, for the Lua compare-and-set
    assert fields["completed_at"] == b"9"
    assert decode_hash(_as_reply(fields)) == record


def test_an_unknown_field_from_a_newer_replica_is_ignored() -> None:
    fields = encode_hash(_record())
    fields["shiny_new_field"] = b'{"nested": [1, 2]}'
    assert decode_hash(_as_reply(fields)) == _record()


def test_a_field_missing_from_an_older_replica_takes_its_default() -> None:
    fields = encode_hash(_record(cancel_requested=True, attempts=2))
    del fields["cancel_requested"], fields["request_counts"], fields["provider_state"]
    record = decode_hash(_as_reply(fields))
    assert record.cancel_requested is False
    assert record.request_counts == RequestCounts()
    assert record.provider_state == b""
    assert record.attempts == 2


def test_updates_are_type_checked_and_identity_is_immutable() -> None:
    encoded = encode_updates({"request_counts": RequestCounts(total=2), "output_file_id": None, "provider_state": b"x"})
    assert encoded == {"request_counts": b'{"total":2,"completed":0,"failed":0}', "output_file_id": b"null",
                       "provider_state": b'"eA=="'}  # fmt: skip
    for bad in ({"status": "completed"}, {"tenant": "other"}, {"no_such_field": 1}, {"input_bytes": "many"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            encode_updates(bad)
