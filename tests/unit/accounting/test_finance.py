"""Cost allocation tags, the per-kind cost split and the FOCUS rows, without Redis."""

from __future__ import annotations

import csv
import io
import itertools
import json
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.charges import charges_of
from accounting.cost import price_usage
from accounting.focus import FOCUS_COLUMNS, focus_csv, focus_rows
from accounting.metrics import Metrics
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord, to_csv
from accounting.summary import Summer
from accounting.tags import UNTAGGED, InvalidTagError, check_tags, resolve_tags
from accounting.usage import UsageTotals
from tests.support.focus_rules import check_focus_csv

KEYS = ("team", "project")
PRICE = ModelPrice(
    input_usd_per_mtok=Decimal("0.28"),
    cached_input_usd_per_mtok=Decimal("0.028"),
    output_usd_per_mtok=Decimal("0.42"),
)


def _record(batch_id: str, usage: UsageTotals, *, discount: str = "0.5", **tags: str) -> LedgerRecord:
    cost = price_usage(usage, PRICE, Decimal(discount))
    return LedgerRecord.build(
        batch_id=batch_id,
        tenant="research",
        provider="deepseek",
        model="deepseek-chat",
        endpoint="/v1/chat/completions",
        status="completed",
        usage=usage,
        cost=cost,
        settled_at=1_764_633_600 + 3_600,  # 2025-12-02T01:00:00Z
        tags=resolve_tags(tags, KEYS),
        charges=charges_of(usage, PRICE, Decimal(discount)),
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {"team": UNTAGGED, "project": UNTAGGED}),
        ({"team": "research", "other": "x"}, {"team": "research", "project": UNTAGGED}),
        ({"team": "", "project": "p-1/eu:2@x+y"}, {"team": UNTAGGED, "project": "p-1/eu:2@x+y"}),
        ({"team": "has space"}, {"team": UNTAGGED, "project": UNTAGGED}),  # created before the key was declared
    ],
)
def test_tags_resolve_from_metadata(metadata: dict[str, str] | None, expected: dict[str, str]) -> None:
    assert resolve_tags(metadata, KEYS) == expected


@pytest.mark.parametrize("value", ["has space", "x" * 65, "{slot}", "naïve", "a\nb", "a,b", 'quote"'])
def test_invalid_tag_values_are_refused_with_the_key_named(value: str) -> None:
    with pytest.raises(InvalidTagError) as caught:
        check_tags({"project": "ok", "team": value}, KEYS)
    assert caught.value.key == "team"
    assert "metadata['team']" in str(caught.value)
    assert "64" in str(caught.value)


def test_valid_and_missing_values_pass() -> None:
    check_tags({"team": "x" * 64, "project": "A-z_0.9:/@+"}, KEYS)
    check_tags({"undeclared": "any thing at all"}, KEYS)
    check_tags(None, KEYS)


@pytest.mark.parametrize("discount", ["0", "0.5", "0.2", "0.123456789", "1"])
def test_charges_sum_exactly_to_the_batch_cost(discount: str) -> None:
    for input_tokens, cached, output in itertools.product((0, 1, 999_983), (0, 1, 7_777), (0, 3, 123_457)):
        usage = UsageTotals(input_tokens=input_tokens + cached, cached_input_tokens=cached, output_tokens=output)
        cost = price_usage(usage, PRICE, Decimal(discount))
        charges = charges_of(usage, PRICE, Decimal(discount))
        assert [c.kind for c in charges] == ["input", "cached_input", "output"]
        assert sum(c.tokens for c in charges) == usage.input_tokens + usage.output_tokens
        assert sum((c.list_usd for c in charges), Decimal(0)) == cost.list_usd
        assert sum((c.batch_usd for c in charges), Decimal(0)) == cost.batch_usd


def test_unpriced_charges_keep_tokens_and_cost_nothing() -> None:
    charges = charges_of(UsageTotals(input_tokens=10, output_tokens=5), None, Decimal("0.5"))
    assert [(c.tokens, c.list_usd_per_mtok, c.list_usd, c.batch_usd) for c in charges] == [
        (10, None, 0, 0),
        (0, None, 0, 0),
        (5, None, 0, 0),
    ]


def test_csv_has_a_column_per_tag_key() -> None:
    records = [
        _record("batch_a", UsageTotals(input_tokens=10), team="research"),
        _record("batch_b", UsageTotals(input_tokens=10), project="apollo"),
    ]
    rows = list(csv.DictReader(io.StringIO("".join(to_csv(records, KEYS)))))
    assert list(rows[0])[-2:] == ["team", "project"]
    assert "tags" not in rows[0]
    assert "charges" not in rows[0]
    assert [(row["team"], row["project"]) for row in rows] == [("research", UNTAGGED), (UNTAGGED, "apollo")]


def test_summary_groups_by_tags_beside_the_usual_keys() -> None:
    summer = Summer(["team", "provider"])
    usage = UsageTotals(input_tokens=1_000, output_tokens=100)
    for index, team in enumerate(["a", "b", "a", "a"]):
        summer.add_record(_record(f"batch_{index}", usage, team=team))
    summer.add_record(_record("batch_x", usage))
    rows = summer.rows()
    assert [(row.provider, row.tags, row.batches) for row in rows] == [
        ("deepseek", {"team": "a"}, 3),
        ("deepseek", {"team": "b"}, 1),
        ("deepseek", {"team": UNTAGGED}, 1),
    ]
    one = price_usage(usage, PRICE, Decimal("0.5")).batch_usd
    assert rows[0].batch_cost_usd == one * 3
    assert rows[0].tenant is None
    assert rows[0].model is None


def test_tag_counters_carry_the_given_labels_and_other_for_the_rest() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, tag_keys=KEYS)
    record = _record("batch_a", UsageTotals(input_tokens=1_000_000), team="research", project="apollo")
    metrics.record_settlement(record, 60, tag_labels={"team": "research"})  # project past its cap: not given
    samples = [
        sample
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
        if sample.name.endswith("_total")
    ]
    tagged = {s.name: (s.labels, s.value) for s in samples if s.name.startswith("batchgate_tag_")}
    assert tagged == {
        "batchgate_tag_list_cost_usd_total": ({"team": "research", "project": "other"}, 0.28),
        "batchgate_tag_cost_usd_total": ({"team": "research", "project": "other"}, 0.14),
        "batchgate_tag_savings_usd_total": ({"team": "research", "project": "other"}, 0.14),
    }
    untagged = [s for s in samples if not s.name.startswith("batchgate_tag_")]
    assert untagged
    assert all("team" not in sample.labels for sample in untagged)


def test_no_tag_counters_without_tag_keys() -> None:
    registry = CollectorRegistry()
    Metrics(registry).record_settlement(_record("batch_a", UsageTotals(input_tokens=10)), 1.0)
    assert "batchgate_tag_cost_usd" not in generate_latest(registry).decode()


def test_focus_rows_follow_the_spec_and_sum_to_the_record() -> None:
    usage = UsageTotals(input_tokens=1_234_567, cached_input_tokens=234_567, output_tokens=89_012)
    record = _record("batch_f", usage, discount="0.2", team="research")
    text = "".join(focus_csv([record]))
    rows = check_focus_csv(text)
    assert [row["x_TokenKind"] for row in rows] == ["input", "cached_input", "output"]
    assert next(iter(csv.reader(io.StringIO(text)))) == list(FOCUS_COLUMNS)
    for column, total in (("ListCost", record.list_cost_usd), ("BilledCost", record.batch_cost_usd)):
        assert sum((Decimal(row[column] or "x") for row in rows), Decimal(0)) == total
    assert sum((Decimal(row["x_Savings"] or "x") for row in rows), Decimal(0)) == record.savings_usd
    assert [int(row["ConsumedQuantity"] or "x") for row in rows] == [1_000_000, 234_567, 89_012]
    assert rows[0]["PricingQuantity"] == "1"
    assert rows[0]["ListUnitPrice"] == "0.28"
    assert rows[1]["ContractedUnitPrice"] == "0.0224"  # 0.028 x (1 - 0.2)
    assert json.loads(rows[0]["Tags"] or "") == {"team": "research", "batchgate/tenant": "research"}
    assert {row["ResourceId"] for row in rows} == {"batch_f"}
    assert rows[0]["ChargePeriodStart"] == "2025-12-02T00:00:00Z"
    assert rows[0]["BillingPeriodEnd"] == "2026-01-01T00:00:00Z"


def test_focus_row_of_an_old_record_without_charges_keeps_the_totals() -> None:
    usage = UsageTotals(input_tokens=1_000, output_tokens=10)
    record = _record("batch_old", usage)
    old = LedgerRecord(**{**{f: getattr(record, f) for f in LedgerRecord.__struct_fields__}, "charges": ()})
    [row] = focus_rows(old)
    assert row["x_TokenKind"] == "all"
    assert row["PricingQuantity"] is None
    assert row["PricingUnit"] is None
    assert Decimal(row["BilledCost"] or "x") == record.batch_cost_usd
    check_focus_csv("".join(focus_csv([old])))
