"""Routes with time-of-day prices: each leg of a batch priced with its own route's prices, windows and discount.

The expected figures are worked out by hand in the comments (the formula in docs/accounting.md), not through
the gateway's accounting code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from accounting.price_windows import PriceWindow
from accounting.route_costs import sum_costs
from accounting.served import ServedTokens, TokenCounts
from accounting.usage import UsageTotals
from gateway.batches import BatchRecord, Leg
from gateway.config.settings import ModelRoute, Settings, default_settings
from gateway.worker.leg_costs import current_usage, legs_of, served_of
from providers.config import NativeSettings, OpenAIBatchSettings

MODEL = "deepseek-chat"
PEAKS = [
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2)),
]
PEAK_0200 = dt.datetime(2030, 1, 7, 2, tzinfo=dt.UTC).timestamp()
OFF_PEAK_0500 = dt.datetime(2030, 1, 7, 5, tzinfo=dt.UTC).timestamp()

FIRST_LEG = UsageTotals(input_tokens=1000, cached_input_tokens=400, output_tokens=300, requests_completed=7)
# The second leg, served by the native executor partly at peak (x2), partly off-peak (x1).
AT_PEAK = TokenCounts(input_tokens=300, cached_input_tokens=100, output_tokens=120)
OFF_PEAK = TokenCounts(input_tokens=200, output_tokens=80)
SECOND_LEG = UsageTotals(input_tokens=500, cached_input_tokens=100, output_tokens=200, requests_completed=3)


def _settings() -> Settings:
    providers = {
        "deepseek": OpenAIBatchSettings(base_url="http://127.0.0.1:9/v1", batch_discount=Decimal("0.5")),
        "deepseek-realtime": NativeSettings(
            base_url="http://127.0.0.1:9/v1", batch_discount=Decimal("0.2"), defer_to_off_peak=True
        ),
    }
    models = [
        ModelRoute(name=MODEL, provider="deepseek", input_usd_per_mtok=Decimal("0.28"),
                   cached_input_usd_per_mtok=Decimal("0.028"), output_usd_per_mtok=Decimal("0.42")),
        ModelRoute(name=MODEL, provider="deepseek-realtime", upstream_model="deepseek-v4-flash",
                   input_usd_per_mtok=Decimal("0.14"), cached_input_usd_per_mtok=Decimal("0.028"),
                   output_usd_per_mtok=Decimal("0.28"), price_windows=PEAKS),
    ]  # fmt: skip
    return msgspec.structs.replace(default_settings(), providers=providers, models=models)


def _on_second_route(served: ServedTokens | None) -> BatchRecord:
    first = Leg(
        route_index=0, provider="deepseek", upstream_model="deepseek-chat", input_key="files/f", requests=10,
        completed=7, input_tokens=1000, cached_input_tokens=400, output_tokens=300,
    )  # fmt: skip
    return BatchRecord(
        id="batch_1", tenant="t", endpoint="/v1/chat/completions", input_file_id="f", created_at=int(PEAK_0200),
        model=MODEL, provider="deepseek-realtime", upstream_model="deepseek-v4-flash", route_index=1, legs=(first,),
        served=served,
    )  # fmt: skip


def test_a_two_route_batch_with_windows_on_route_2_is_priced_per_leg_exactly() -> None:
    record = _on_second_route(ServedTokens({"2": AT_PEAK, "1": OFF_PEAK}))
    first, second = legs_of(_settings(), record, FIRST_LEG + SECOND_LEG)

    # Route 1, flat, discount 0.5: (600 x 0.28 + 400 x 0.028 + 300 x 0.42) / 10^6 = 0.0003052; paid half.
    assert (first.cost.list_usd, first.cost.batch_usd) == (Decimal("0.0003052"), Decimal("0.0001526"))
    assert (first.route.provider, first.route.requests_completed, first.route.input_tokens) == ("deepseek", 7, 1000)
    # Route 2 list: all its tokens at the rate when the batch was created (02:00, peak x2):
    # (400 x 0.14 + 100 x 0.028 + 200 x 0.28) / 10^6 = 0.0001148, x2 = 0.0002296.
    # Paid per bucket, discount 0.2: peak (200 x 0.14 + 100 x 0.028 + 120 x 0.28) = 64.4 x2 = 128.8;
    # off-peak (200 x 0.14 + 80 x 0.28) = 50.4 x1; (128.8 + 50.4) / 10^6 x 0.8 = 0.00014336.
    assert (second.cost.list_usd, second.cost.batch_usd) == (Decimal("0.0002296"), Decimal("0.00014336"))
    assert second.cost.savings_usd == Decimal("0.00008624")
    assert (second.route.provider, second.route.model) == ("deepseek-realtime", "deepseek-v4-flash")
    assert (second.route.input_tokens, second.route.output_tokens, second.route.requests_completed) == (500, 200, 3)
    # Each leg's token-kind charges sum to its own cost; the batch is the sum of its legs.
    for leg in (first, second):
        assert sum((c.batch_usd for c in leg.charges), Decimal(0)) == leg.cost.batch_usd
        assert sum((c.list_usd for c in leg.charges), Decimal(0)) == leg.cost.list_usd
    total = sum_costs([first.cost, second.cost])
    assert (total.list_usd, total.batch_usd, total.savings_usd) == (
        Decimal("0.0005348"), Decimal("0.00029596"), Decimal("0.00023884"),
    )  # fmt: skip


def test_the_current_legs_buckets_hold_its_own_tokens_only() -> None:
    # A route that reports no buckets (an upstream batch): the current leg's tokens, not the batch's (which
    # include what the first route carried over), go whole into the bucket of its completion time.
    record = _on_second_route(None)
    mine = current_usage(record, FIRST_LEG + SECOND_LEG)
    assert (mine.input_tokens, mine.cached_input_tokens, mine.output_tokens) == (500, 100, 200)
    served = served_of(PEAKS, None, mine, OFF_PEAK_0500)
    assert served == ServedTokens({"1": TokenCounts(input_tokens=500, cached_input_tokens=100, output_tokens=200)})
    assert served_of(PEAKS, ServedTokens({"2": AT_PEAK}), mine, OFF_PEAK_0500) == ServedTokens({"2": AT_PEAK})
    assert served_of([], None, mine, OFF_PEAK_0500) is None  # no windows: no buckets, the flat formula
    # Priced at completion (05:00, x1) with list at creation (02:00, x2): 0.0001148 x2 list, x1 x 0.8 paid.
    _, second = legs_of(_settings(), msgspec.structs.replace(record, served=served), FIRST_LEG + SECOND_LEG)
    assert (second.cost.list_usd, second.cost.batch_usd) == (Decimal("0.0002296"), Decimal("0.00009184"))
