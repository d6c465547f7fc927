from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from accounting.budget import estimate_max_cost
from accounting.cost import Cost, price_usage
from accounting.prices import ModelPrice
from accounting.usage import UsageTotals

DEEPSEEK = ModelPrice(
    input_usd_per_mtok=Decimal("0.28"), cached_input_usd_per_mtok=Decimal("0.028"), output_usd_per_mtok=Decimal("0.42")
)
LLAMA = ModelPrice(input_usd_per_mtok=Decimal("0.23"), output_usd_per_mtok=Decimal("0.40"))
BGE = ModelPrice(input_usd_per_mtok=Decimal("0.01"), output_usd_per_mtok=Decimal("0"))


def test_deepseek_half_price_with_cache_hits() -> None:
    usage = UsageTotals(input_tokens=1000, cached_input_tokens=600, output_tokens=300)
    cost = price_usage(usage, DEEPSEEK, Decimal("0.5"))
    # (400 x 0.28 + 600 x 0.028 + 300 x 0.42) / 10**6 = (112 + 16.8 + 126) / 10**6
    assert cost == Cost(
        list_usd=Decimal("0.0002548"), batch_usd=Decimal("0.0001274"), savings_usd=Decimal("0.0001274"), priced=True
    )


def test_deepinfra_twenty_percent_off_without_cached_price_uses_input_price() -> None:
    usage = UsageTotals(input_tokens=1234, cached_input_tokens=34, output_tokens=567)
    cost = price_usage(usage, LLAMA, Decimal("0.2"))
    list_usd = (
        Decimal(1200) * Decimal("0.23") + Decimal(34) * Decimal("0.23") + Decimal(567) * Decimal("0.40")
    ) / 10**6
    assert cost.list_usd == list_usd == Decimal("0.00051062")
    assert cost.batch_usd == Decimal("0.000408496")
    assert cost.savings_usd == Decimal("0.000102124")
    assert cost.batch_usd + cost.savings_usd == cost.list_usd


def test_native_has_no_discount() -> None:
    cost = price_usage(UsageTotals(input_tokens=3, output_tokens=7), LLAMA, Decimal(0))
    assert cost.batch_usd == cost.list_usd == Decimal("0.00000349")
    assert cost.savings_usd == 0


def test_embeddings_cost_input_only() -> None:
    cost = price_usage(UsageTotals(input_tokens=1), BGE, Decimal("0.2"))
    assert (cost.list_usd, cost.batch_usd, cost.savings_usd) == (Decimal("1E-8"), Decimal("8E-9"), Decimal("2E-9"))


def test_unpriced_model_is_flagged_and_zero() -> None:
    cost = price_usage(UsageTotals(input_tokens=10**6, output_tokens=10), None, Decimal("0.5"))
    assert cost == Cost(list_usd=Decimal(0), batch_usd=Decimal(0), savings_usd=Decimal(0), priced=False)


def test_all_failed_batch_costs_zero_as_plain_zero() -> None:
    cost = price_usage(UsageTotals(requests_failed=5), DEEPSEEK, Decimal("0.5"))
    assert cost.priced
    assert str(cost.list_usd) == str(cost.batch_usd) == str(cost.savings_usd) == "0"


def test_exact_whatever_the_thread_context() -> None:
    price = ModelPrice(input_usd_per_mtok=Decimal("0.123456789"), output_usd_per_mtok=Decimal("0.987654321"))
    usage = UsageTotals(input_tokens=987_654_321_012, output_tokens=123_456_789_098)
    with localcontext() as context:
        context.prec = 5
        cost = price_usage(usage, price, Decimal("0.37"))
    with localcontext() as wide:
        wide.prec = 100
        expected = (
            Decimal(987_654_321_012) * price.input_usd_per_mtok + Decimal(123_456_789_098) * price.output_usd_per_mtok
        ) / 10**6
        assert cost.list_usd == expected
        assert cost.batch_usd == expected * Decimal("0.63")


@pytest.mark.parametrize(
    ("discount", "expected"), [(Decimal("0.5"), Decimal("0.00007")), (Decimal(0), Decimal("0.00014"))]
)
def test_estimate_is_uncached_input_plus_max_output(discount: Decimal, expected: Decimal) -> None:
    # (100 x 0.5 + 300 x 0.3) / 10**6 = 140 / 10**6, before the discount
    price = ModelPrice(input_usd_per_mtok=Decimal("0.5"), output_usd_per_mtok=Decimal("0.3"))
    assert estimate_max_cost(100, 300, price, discount) == expected


def test_estimate_for_unpriced_model_is_zero() -> None:
    assert estimate_max_cost(10, 10, None, Decimal("0.5")) == 0


def test_estimate_on_a_route_with_peak_windows_reserves_the_peak_price() -> None:
    # 140 / 10**6 before the discount, x 2 at peak, x (1 - 0.5): 140 / 10**6 exactly.
    price = ModelPrice(input_usd_per_mtok=Decimal("0.5"), output_usd_per_mtok=Decimal("0.3"))
    assert estimate_max_cost(100, 300, price, Decimal("0.5"), peak_multiplier=Decimal(2)) == Decimal("0.00014")
