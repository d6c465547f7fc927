from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from accounting.ledger import plain
from accounting.records import LedgerRecord, day_of, month_of


def test_records_tolerate_unknown_fields_and_default_new_ones() -> None:
    raw = b'{"batch_id":"b","tenant":"t","provider":"p","model":"m","endpoint":"/v1/embeddings",'
    raw += b'"status":"completed","list_cost_usd":"0.5","from_a_newer_replica":1}'
    record = msgspec.json.decode(raw, type=LedgerRecord)
    assert (record.list_cost_usd, record.batch_cost_usd, record.priced) == (Decimal("0.5"), Decimal(0), True)


def test_money_is_a_decimal_string_on_the_wire() -> None:
    record = LedgerRecord(
        batch_id="b",
        tenant="t",
        provider="p",
        model="m",
        endpoint="/v1/embeddings",
        status="completed",
        list_cost_usd=Decimal("0.000028"),
    )
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


def test_the_csv_columns_keep_their_order_with_deferred_until_then_routes_before_the_tags() -> None:
    from accounting.records import csv_header

    assert csv_header(("team",)).strip().split(",") == [
        "batch_id",
        "tenant",
        "provider",
        "model",
        "endpoint",
        "status",
        "requests_completed",
        "requests_failed",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "list_cost_usd",
        "batch_cost_usd",
        "savings_usd",
        "settled_at",
        "priced",
        "estimated_max_cost_usd",
        "deferred_until",
        "routes",
        "team",
    ]
