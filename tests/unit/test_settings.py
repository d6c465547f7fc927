from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config.settings import ConfigError, default_settings, load_settings

VALID = """
data_dir = "/tmp/bg"
[server]
port = 9000
[[tenants]]
name = "research"
api_keys = ["sk-research-1"]
monthly_budget_usd = "500"
[providers.local]
kind = "native"
base_url = "http://127.0.0.1:8001/v1"
batch_discount = "0"
requests_per_minute = 6000
[[models]]
name = "llama"
provider = "local"
upstream_model = "meta/llama"
input_usd_per_mtok = "0.28"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "batchgate.toml"
    path.write_text(text)
    return path


def test_valid_file_is_typed(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID), environ={})
    assert settings.server.port == 9000
    assert settings.tenants[0].monthly_budget_usd == Decimal("500")
    route = settings.route_for("llama")
    assert route is not None
    assert route.upstream_name == "meta/llama"
    assert route.input_usd_per_mtok == Decimal("0.28")
    assert settings.providers["local"].requests_per_minute == 6000


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[server]", "[server]\nprot = 1"), "unknown key `server.prot`"),
        (('kind = "native"', 'kind = "native"\nmax_concurency = 3'), "unknown key `providers.local.max_concurency`"),
        (('name = "research"', 'name = "research"\nadmn = true'), "unknown key `tenants[0].admn`"),
        (('provider = "local"', 'provider = "nowhere"'), "`$.models[0].provider`"),
        (('batch_discount = "0"', 'batch_discount = "1.5"'), "`$.providers.local.batch_discount`"),
        (('kind = "native"', 'kind = "magic"'), "`providers.local.kind` must be one of 'openai_batch', 'native'"),
        # A key of the other kind is refused with its path, and says whose key it is.
        (
            ('kind = "native"', 'kind = "native"\noutput_purpose = "batch-output"'),
            "unknown key `providers.local.output_purpose`: a key of `openai_batch` providers, not of `native`",
        ),
        (
            ('kind = "native"', 'kind = "native"\nmax_requests_per_batch = 10'),
            "unknown key `providers.local.max_requests_per_batch`: a key of `openai_batch` providers",
        ),
        (
            ('kind = "native"', 'kind = "openai_batch"\ndefer_to_off_peak = true'),
            "unknown key `providers.local.defer_to_off_peak`: a key of `native` providers, not of `openai_batch`",
        ),
        (
            ('kind = "native"', 'kind = "openai_batch"\ntokens_per_minute = 5'),
            "unknown key `providers.local.tokens_per_minute`: a key of `native` providers",
        ),
        (
            ('kind = "native"', 'kind = "openai_batch"\nreclaim_idle_seconds = 5'),
            "unknown key `providers.local.reclaim_idle_seconds`: a key of `native` providers",
        ),
        (("port = 9000", "port = 99999"), "port"),
        (("[server]", "[batches]\ndeferral_check_seconds = 0\n[server]"), "deferral_check_seconds"),
    ],
)
def test_invalid_files_name_the_key(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=r"batchgate\.toml") as caught:
        load_settings(write(tmp_path, VALID.replace(*edit)), environ={})
    assert message in str(caught.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "data_dir = "), environ={})


def test_environment_selects_file_and_redis(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    settings = load_settings(environ={"BATCHGATE_CONFIG": str(path), "REDIS_URL": "redis://example:6379/0"})
    assert settings.server.port == 9000
    assert settings.redis.url == "redis://example:6379/0"


def test_defaults_route_deepseek_and_deepinfra() -> None:
    settings = default_settings()
    assert settings.tenants == []
    assert settings.providers["deepseek"].batch_discount == Decimal("0.5")
    assert settings.providers["deepinfra"].batch_discount == Decimal("0.2")
    route = settings.route_for("deepseek-chat")
    assert route is not None
    assert route.provider == "deepseek"
    assert settings.route_for("gpt-unknown") is None


def test_max_output_tokens_is_the_models_cap(tmp_path: Path) -> None:
    capped = VALID.replace('upstream_model = "meta/llama"', 'upstream_model = "meta/llama"\nmax_output_tokens = 8192')
    settings = load_settings(write(tmp_path, capped), environ={})
    assert settings.max_output_tokens("llama") == 8192
    assert settings.max_output_tokens("other") is None
    assert load_settings(write(tmp_path, VALID), environ={}).max_output_tokens("llama") is None
    with pytest.raises(ConfigError, match="max_output_tokens"):
        load_settings(write(tmp_path, capped.replace("= 8192", "= 0")), environ={})


ROUTES = """
[providers.batch]
kind = "openai_batch"
base_url = "http://127.0.0.1:8001/v1"
[providers.realtime]
kind = "native"
base_url = "http://127.0.0.1:8002/v1"
defer_to_off_peak = true
[[models]]
name = "deepseek-chat"
provider = "batch"
[[models]]
name = "deepseek-chat"
provider = "realtime"
upstream_model = "deepseek-v4-flash"
input_usd_per_mtok = "0.14"
output_usd_per_mtok = "0.28"
price_windows = [{start = "01:00", end = "04:00", multiplier = "2"}, {start = "06:00", end = "10:00", multiplier = "2"}]
"""


def test_a_model_listed_again_gets_a_second_route(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ROUTES), environ={})
    routes = settings.routes_for("deepseek-chat")
    assert [(route.provider, route.upstream_name) for route in routes] == [
        ("batch", "deepseek-chat"),
        ("realtime", "deepseek-v4-flash"),
    ]
    assert settings.route_for("deepseek-chat") is routes[0]
    assert [window.start for window in routes[1].price_windows] == ["01:00", "06:00"]
    assert routes[1].price_windows[0].multiplier == Decimal(2)
    assert settings.providers["realtime"].defer_to_off_peak
    # /v1/responses is served by the native route only, which is enough for the model.
    assert settings.serves("deepseek-chat", "/v1/responses")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('provider = "realtime"', 'provider = "batch"'), "routed to 'batch' twice - at `$.models[1]`"),
        (('"06:00", end = "10:00"', '"06:00", end = "06:00"'), "must differ"),
        (('multiplier = "2"}]', 'multiplier = "2", tz = "UTC"}]'), "unknown key `models[1].price_windows[1].tz`"),
    ],
)
def test_bad_routes_name_the_entry(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ROUTES.replace(*edit)), environ={})
    assert message in str(caught.value)


def test_both_kinds_take_the_shared_keys(tmp_path: Path) -> None:
    shared = "max_concurrency = 3\nmax_attempts = 2\nretry_base_seconds = 0.1\n"
    for kind in ("native", "openai_batch"):
        text = VALID.replace('kind = "native"', f'kind = "{kind}"\n{shared}')
        provider = load_settings(write(tmp_path, text), environ={}).providers["local"]
        assert (provider.kind, provider.max_concurrency, provider.max_attempts) == (kind, 3, 2)


@pytest.mark.parametrize("key", ["input_tokens", "savings_usd", "unpriced_batches", "priced", "kind"])
def test_a_tag_key_named_like_a_ledger_field_or_label_is_refused(tmp_path: Path, key: str) -> None:
    text = VALID + f'[accounting]\ntag_keys = ["team", "{key}"]\n'
    with pytest.raises(ConfigError, match="is a ledger field or metric label name") as caught:
        load_settings(write(tmp_path, text), environ={})
    assert "$.accounting.tag_keys[1]" in str(caught.value)


def test_a_free_tag_key_is_accepted(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID + '[accounting]\ntag_keys = ["team"]\n'), environ={})
    assert settings.accounting.tag_keys == ["team"]


def test_max_output_tokens_is_the_smallest_cap_over_the_models_routes(tmp_path: Path) -> None:
    routes = VALID + (
        '\n[providers.other]\nkind = "native"\nbase_url = "http://127.0.0.1:1/v1"\n'
        '\n[[models]]\nname = "llama"\nprovider = "other"\nmax_output_tokens = 4096\n'
    )
    settings = load_settings(write(tmp_path, routes), environ={})
    assert [route.provider for route in settings.routes_for("llama")][-1] == "other"
    assert settings.max_output_tokens("llama") == 4096  # the first route has no cap: the second's holds
    capped = routes.replace('upstream_model = "meta/llama"', 'upstream_model = "meta/llama"\nmax_output_tokens = 1000')
    assert load_settings(write(tmp_path, capped), environ={}).max_output_tokens("llama") == 1000
