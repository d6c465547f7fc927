from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from accounting.charges import Charge
from accounting.cost import ZERO
from accounting.ledger import plain
from accounting.records import (
    CSV_FIELDS,
    MONEY_FIELDS,
    REQUEST_FIELDS,
    RESERVED_TAG_KEYS,
    SUMMED_FIELDS,
    TOKEN_FIELDS,
    AccountingRecord,
    LedgerRecord,
    csv_header,
    day_of,
    month_of,
    new_summary_row,
)
from accounting.usage import UsageTotals

IDENTITY: dict[str, Any] = {
    "batch_id": "b",
    "tenant": "t",
    "provider": "p",
    "model": "m",
    "endpoint": "/v1/embeddings",
    "status": "completed",
}


def test_records_tolerate_unknown_fields_and_default_new_ones() -> None:
    raw = b'{"batch_id":"b","tenant":"t","provider":"p","model":"m","endpoint":"/v1/embeddings",'
    raw += b'"status":"completed","list_cost_usd":"0.5","from_a_newer_replica":1}'
    record = msgspec.json.decode(raw, type=LedgerRecord)
    assert (record.list_cost_usd, record.batch_cost_usd, record.priced) == (Decimal("0.5"), Decimal(0), True)


def test_money_is_a_decimal_string_on_the_wire() -> None:
    record = LedgerRecord(**IDENTITY, list_cost_usd=Decimal("0.000028"))
    assert b'"list_cost_usd":"0.000028"' in msgspec.json.encode(record)


@pytest.mark.parametrize(("amount", "text"), [("1E-8", "0.00000001"), ("0E-12", "0.000000000000"), ("12.50", "12.50")])
def test_plain_amounts_for_lua(amount: str, text: str) -> None:
    assert plain(Decimal(amount)) == text


@pytest.mark.parametrize("amount", ["-0.01", "NaN", "Infinity"])
def test_plain_refuses_negative_and_non_finite(amount: str) -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        plain(Decimal(amount))


def test_buckets_are_utc() -> None:
    assert (day_of(1_767_225_599), month_of(1_767_225_599)) == ("2025-12-31", "2025-12")
    assert (day_of(1_767_225_600), month_of(1_767_225_600)) == ("2026-01-01", "2026-01")


# The CSV header and the JSON record are contracts (ARCHITECTURE.md §2.2): pinned here to the letter.
CSV_HEADER = (
    "batch_id,tenant,provider,model,endpoint,status,requests_completed,requests_failed,input_tokens,"
    "cached_input_tokens,output_tokens,reasoning_tokens,list_cost_usd,batch_cost_usd,savings_usd,settled_at,"
    "priced,estimated_max_cost_usd,deferred_until,routes"
)
RECORD_JSON = (
    b'{"batch_id":"b","tenant":"t","provider":"p","model":"m","endpoint":"/v1/embeddings","status":"completed",'
    b'"requests_completed":2,"requests_failed":1,"input_tokens":30,"cached_input_tokens":10,"output_tokens":5,'
    b'"reasoning_tokens":1,"list_cost_usd":"0.5","batch_cost_usd":"0.25","savings_usd":"0.25","priced":true,'
    b'"settled_at":1767225600,"estimated_max_cost_usd":null,"deferred_until":null,'
    b'"tags":{"team":"x","project":"untagged"},"routes":[]}'
)


def _settled() -> LedgerRecord:
    counts = {"requests_completed": 2, "requests_failed": 1, "input_tokens": 30, "cached_input_tokens": 10}
    money = {"list_cost_usd": Decimal("0.5"), "batch_cost_usd": Decimal("0.25"), "savings_usd": Decimal("0.25")}
    return LedgerRecord(
        **IDENTITY,
        **counts,
        output_tokens=5,
        reasoning_tokens=1,
        **money,
        settled_at=1_767_225_600,
        tags={"team": "x", "other": "dropped"},
        charges=(
            Charge(
                kind="input",
                tokens=30,
                list_usd_per_mtok=None,
                batch_discount=Decimal(0),
                list_usd=ZERO,
                batch_usd=ZERO,
            ),
        ),
    )


def test_the_csv_header_is_pinned() -> None:
    assert csv_header() == CSV_HEADER + "\r\n"
    assert csv_header(("team",)) == CSV_HEADER + ",team\r\n"


def test_the_json_record_is_pinned_and_drops_the_charges() -> None:
    assert msgspec.json.encode(_settled().accounting(("team", "project"))) == RECORD_JSON


def test_field_lists_derive_from_the_one_record() -> None:
    scalars = [name for name in AccountingRecord.__struct_fields__ if name != "tags"]
    assert sorted(CSV_FIELDS) == sorted(scalars)
    assert TOKEN_FIELDS == ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")
    assert MONEY_FIELDS == ("list_cost_usd", "batch_cost_usd", "savings_usd")
    assert LedgerRecord.__struct_fields__ == (*AccountingRecord.__struct_fields__, "charges")
    assert set(UsageTotals.__struct_fields__) == set(REQUEST_FIELDS + TOKEN_FIELDS)  # `LedgerRecord.build` copies them


def test_a_summary_row_carries_the_counts_then_every_summed_field() -> None:
    row = new_summary_row({"tenant": "t"}, None)
    assert msgspec.json.encode(row) == (
        b'{"tenant":"t","batches":0,"unpriced_batches":0,"requests_completed":0,"requests_failed":0,'
        b'"input_tokens":0,"cached_input_tokens":0,"output_tokens":0,"reasoning_tokens":0,'
        b'"list_cost_usd":"0","batch_cost_usd":"0","savings_usd":"0"}'
    )
    assert SUMMED_FIELDS == REQUEST_FIELDS + TOKEN_FIELDS + MONEY_FIELDS


@pytest.mark.parametrize("name", [*LedgerRecord.__struct_fields__, "batches", "unpriced_batches", "kind", "le"])
def test_every_record_field_summary_count_and_label_is_a_reserved_tag_key(name: str) -> None:
    assert name in RESERVED_TAG_KEYS
