"""The shipped routes (dev-mode defaults and the deploy configs): DeepSeek's batch API first, then its real-time
API through the native executor with the V4 model names, peak windows and off-peak deferral; DeepInfra as is."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from accounting.price_windows import PriceWindow
from gateway.config.settings import Settings, default_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
PEAKS = [
    PriceWindow(start="01:00", end="04:00", multiplier=Decimal(2), days="daily", timezone="UTC"),
    PriceWindow(start="06:00", end="10:00", multiplier=Decimal(2), days="daily", timezone="UTC"),
]
SHIPPED = {
    "defaults": default_settings,
    "deploy/batchgate.toml": lambda: load_settings(ROOT / "deploy/batchgate.toml", environ={}),
    "deploy/k8s/batchgate.toml": lambda: load_settings(ROOT / "deploy/k8s/batchgate.toml", environ={}),
}


@pytest.fixture(params=sorted(SHIPPED))
def shipped(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = SHIPPED[request.param]()
    return settings


def _prices(settings: Settings, model: str, index: int) -> tuple[Decimal | None, ...]:
    route = settings.routes_for(model)[index]
    return route.input_usd_per_mtok, route.cached_input_usd_per_mtok, route.output_usd_per_mtok


def test_deepseek_chat_falls_back_to_the_realtime_api_as_v4_flash(shipped: Settings) -> None:
    first, second = shipped.routes_for("deepseek-chat")
    assert (first.provider, first.upstream_name, first.price_windows) == ("deepseek", "deepseek-chat", [])
    assert (second.provider, second.upstream_name) == ("deepseek-realtime", "deepseek-v4-flash")
    assert _prices(shipped, "deepseek-chat", 1) == (Decimal("0.14"), Decimal("0.028"), Decimal("0.28"))
    assert second.price_windows == PEAKS


def test_deepseek_reasoner_falls_back_as_v4_pro_at_its_list_prices(shipped: Settings) -> None:
    first, second = shipped.routes_for("deepseek-reasoner")
    assert first.provider == "deepseek"
    assert (second.provider, second.upstream_name, second.price_windows) == (
        "deepseek-realtime",
        "deepseek-v4-pro",
        PEAKS,
    )
    assert _prices(shipped, "deepseek-reasoner", 1) == _prices(shipped, "deepseek-reasoner", 0)


def test_the_realtime_provider_is_deepseeks_api_run_natively_off_peak(shipped: Settings) -> None:
    realtime = shipped.providers["deepseek-realtime"]
    assert realtime.kind == "native"
    assert realtime.base_url == "https://api.deepseek.com/v1"
    assert realtime.api_key_env == shipped.providers["deepseek"].api_key_env == "DEEPSEEK_API_KEY"
    assert realtime.defer_to_off_peak is True
    assert realtime.batch_discount == 0
    assert shipped.providers["deepseek"].batch_discount == Decimal("0.5")


def test_deepinfra_models_keep_one_route(shipped: Settings) -> None:
    deepinfra = [route for route in shipped.models if route.provider == "deepinfra"]
    assert deepinfra
    for route in deepinfra:
        assert [r.provider for r in shipped.routes_for(route.name)] == ["deepinfra"]
    assert shipped.providers["deepinfra"].batch_discount == Decimal("0.2")
