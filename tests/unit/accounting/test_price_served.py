"""`price_served`: served buckets priced exactly, list at the creation-time multiplier."""

from __future__ import annotations

from decimal import Decimal

from accounting.cost import price_served, price_usage
from accounting.prices import ModelPrice
from accounting.served import ServedTokens, TokenCounts, bucket_key, served_at
from accounting.usage import UsageTotals

# DeepSeek V4-Flash off-peak rates (issue #19).
FLASH = ModelPrice(
    input_usd_per_mtok=Decimal("0.14"), output_usd_per_mtok=Decimal("0.28"), cached_input_usd_per_mtok=Decimal("0.028")
)
OFF = TokenCounts(input_tokens=1_000_000, cached_input_tokens=200_000, output_tokens=500_000, reasoning_tokens=7)
PEAK = TokenCounts(input_tokens=300_000, cached_input_tokens=0, output_tokens=100_000)


def test_buckets_are_paid_at_their_multiplier_and_list_at_the_creation_rate() -> None:
    served = ServedTokens({"1": OFF, "2": PEAK})
    cost = price_served(served, FLASH, Decimal(0), list_multiplier=Decimal(2))
    off = (
        Decimal("800000") * Decimal("0.14") + Decimal("200000") * Decimal("0.028") + Decimal("500000") * Decimal("0.28")
    )
    peak = Decimal("300000") * Decimal("0.14") + Decimal("100000") * Decimal("0.28")
    assert cost.list_usd == (off + peak) * 2 / 10**6 == Decimal("0.6552")
    assert cost.batch_usd == (off + peak * 2) / 10**6 == Decimal("0.3976")
    assert cost.savings_usd == Decimal("0.2576")


def test_serving_at_peak_a_batch_created_off_peak_saves_a_negative_amount() -> None:
    cost = price_served(ServedTokens({"2": PEAK}), FLASH, Decimal("0.5"), list_multiplier=Decimal(1))
    assert cost.list_usd == Decimal("0.07")
    assert cost.batch_usd == Decimal("0.07")  # 2x peak, halved by the discount
    assert cost.savings_usd == 0
    dearer = price_served(ServedTokens({"2": PEAK}), FLASH, Decimal(0), list_multiplier=Decimal(1))
    assert dearer.savings_usd == Decimal("-0.07")


def test_one_bucket_at_multiplier_one_is_price_usage() -> None:
    usage = UsageTotals(input_tokens=1_234_567, cached_input_tokens=34_567, output_tokens=89_012, reasoning_tokens=5)
    discount = Decimal("0.5")
    windowed = price_served(served_at(usage, Decimal(1)), FLASH, discount, list_multiplier=Decimal(1))
    assert windowed == price_usage(usage, FLASH, discount)


def test_an_unpriced_model_costs_nothing_and_says_so() -> None:
    cost = price_served(ServedTokens({"2": PEAK}), None, Decimal(0), list_multiplier=Decimal(2))
    assert (cost.list_usd, cost.batch_usd, cost.priced) == (0, 0, False)


def test_bucket_names_have_one_spelling_per_amount() -> None:
    assert bucket_key(Decimal("2.0")) == bucket_key(Decimal(2)) == "2"
    assert bucket_key(Decimal("0.50")) == "0.5"
    assert bucket_key(Decimal("1E+1")) == "10"


def test_buckets_read_from_flat_counters_and_add_up() -> None:
    fields = {"1:in": 10, "1:cached": 2, "1:out": 5, "2:in": 3, "2:reason": 1}
    served = ServedTokens.from_fields(fields)
    assert served.buckets == {
        "1": TokenCounts(input_tokens=10, cached_input_tokens=2, output_tokens=5),
        "2": TokenCounts(input_tokens=3, reasoning_tokens=1),
    }
    both = served + ServedTokens({"2": TokenCounts(input_tokens=1)})
    assert both.total() == TokenCounts(input_tokens=14, cached_input_tokens=2, output_tokens=5, reasoning_tokens=1)


def test_window_charges_split_the_cost_by_kind_exactly() -> None:
    from accounting.charges import served_charges

    served = ServedTokens({"1": OFF, "2": PEAK})
    discount = Decimal("0.25")
    cost = price_served(served, FLASH, discount, list_multiplier=Decimal(2))
    charges = served_charges(served, FLASH, discount, list_multiplier=Decimal(2))
    assert [c.kind for c in charges] == ["input", "cached_input", "output"]
    assert [c.tokens for c in charges] == [1_100_000, 200_000, 600_000]
    assert sum(c.list_usd for c in charges) == cost.list_usd
    assert sum(c.batch_usd for c in charges) == cost.batch_usd
    assert charges[2].list_usd_per_mtok == Decimal("0.56")  # the output price at the creation-time multiplier
