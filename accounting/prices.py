"""Real-time list prices per model (USD per 1M tokens) and the shipped default table.

The defaults are a starting point for operators to review, not a source of truth: providers change
prices, and the config file's `[[models]]` entries override them.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from accounting.price_windows import PriceWindow

__all__ = ["DEEPSEEK_PEAK_WINDOWS", "DEFAULT_MODEL_PRICES", "PRICES_TAKEN_ON", "DefaultPrice", "ModelPrice"]

# The day the default table below was read from the providers' public price pages.
PRICES_TAKEN_ON = "2026-11-01"


class ModelPrice(msgspec.Struct, frozen=True, kw_only=True):
    """Real-time list prices of one model, USD per 1M tokens. A missing cached price means the input price."""

    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None = None

    @property
    def cached_input_price(self) -> Decimal:
        return self.input_usd_per_mtok if self.cached_input_usd_per_mtok is None else self.cached_input_usd_per_mtok


class DefaultPrice(msgspec.Struct, frozen=True, kw_only=True):
    """One default route: a model through a provider, in the order the table lists them."""

    model: str
    provider: str
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None = None
    upstream_model: str | None = None
    price_windows: tuple[PriceWindow, ...] = ()


def _price(
    model: str, provider: str, input_: str, output: str, cached: str | None = None, *,
    upstream: str | None = None, windows: tuple[PriceWindow, ...] = (),
) -> DefaultPrice:  # fmt: skip
    return DefaultPrice(
        model=model,
        provider=provider,
        input_usd_per_mtok=Decimal(input_),
        output_usd_per_mtok=Decimal(output),
        cached_input_usd_per_mtok=None if cached is None else Decimal(cached),
        upstream_model=upstream,
        price_windows=windows,
    )


# DeepSeek's real-time API since V4 (July 2026): two daily peak windows, 09:00-12:00 and 14:00-18:00 Beijing
# time, billed at 2x the off-peak rate. V4-Flash's published off-peak rates are 0.14 / 0.028 / 0.28; no V4-Pro
# rate was published with them, so deepseek-reasoner keeps its list prices on the real-time route.
DEEPSEEK_PEAK_WINDOWS = (
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2)),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2)),
)


DEFAULT_MODEL_PRICES: tuple[DefaultPrice, ...] = (
    # A model listed again is its next route: DeepSeek's batch API first, then its real-time API run by the
    # native executor (`deepseek-realtime`) for what the batch API could not finish, or when it has none.
    _price("deepseek-chat", "deepseek", "0.28", "0.42", cached="0.028"),
    _price(
        "deepseek-chat",
        "deepseek-realtime",
        "0.14",
        "0.28",
        cached="0.028",
        upstream="deepseek-v4-flash",
        windows=DEEPSEEK_PEAK_WINDOWS,
    ),
    _price("deepseek-reasoner", "deepseek", "0.28", "0.42", cached="0.028"),
    _price(
        "deepseek-reasoner",
        "deepseek-realtime",
        "0.28",
        "0.42",
        cached="0.028",
        upstream="deepseek-v4-pro",
        windows=DEEPSEEK_PEAK_WINDOWS,
    ),
    _price("deepseek-ai/DeepSeek-V3", "deepinfra", "0.38", "0.89"),
    _price("meta-llama/Llama-3.3-70B-Instruct", "deepinfra", "0.23", "0.40"),
    _price("meta-llama/Meta-Llama-3.1-8B-Instruct", "deepinfra", "0.03", "0.05"),
    _price("Qwen/Qwen2.5-72B-Instruct", "deepinfra", "0.12", "0.39"),
    _price("BAAI/bge-large-en-v1.5", "deepinfra", "0.01", "0"),
    _price("BAAI/bge-m3", "deepinfra", "0.01", "0"),
)
