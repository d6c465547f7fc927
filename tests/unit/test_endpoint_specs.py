"""The endpoint registry (`providers.endpoints`): its two halves in step, provider defaults per kind, the
config check, usage read per shape, and the create-time verdict on an endpoint a route cannot serve."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from accounting.usage import USAGE_SHAPES, UsageAccumulator, UsageTotals
from gateway.api.endpoint_check import first_line_model, unserved
from gateway.config.settings import ConfigError, ModelRoute, Settings, load_settings
from gateway.storage.local import LocalStorage
from gateway.validation.endpoints import ENDPOINTS as LINE_RULES
from gateway.validation.lines import DEFAULT_CHAT_MAX_OUTPUT_TOKENS
from providers.config import ProviderSettings
from providers.endpoints import ENDPOINTS, OPENAI_BATCH_ENDPOINTS, default_endpoints
from tests.support.realtime_upstream import RealtimeUpstream


def test_every_spec_has_its_line_rules_and_a_known_usage_shape() -> None:
    assert list(LINE_RULES) == list(ENDPOINTS)
    assert all(rules.url == url for url, rules in LINE_RULES.items())
    assert {spec.usage for spec in ENDPOINTS.values()} <= set(USAGE_SHAPES)
    assert set(ENDPOINTS) < set(OPENAI_BATCH_ENDPOINTS)
    assert ENDPOINTS["/v1/chat/completions"].default_max_output_tokens == DEFAULT_CHAT_MAX_OUTPUT_TOKENS


def test_the_realtime_simulator_serves_every_endpoint() -> None:
    routes = {route.resource.canonical for route in RealtimeUpstream(port=1).app().router.routes()}  # type: ignore[union-attr]
    assert set(ENDPOINTS) <= routes


def test_defaults_per_kind_and_an_openai_batch_upstream_serves_responses_only_when_listed() -> None:
    assert default_endpoints("native") == list(ENDPOINTS)
    assert default_endpoints("openai_batch") == ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
    plain = ProviderSettings(kind="openai_batch", base_url="u")
    listed = ProviderSettings(kind="openai_batch", base_url="u", endpoints=["/v1/chat/completions", "/v1/responses"])
    assert not plain.serves_endpoint("/v1/responses")
    assert listed.serves_endpoint("/v1/responses")
    assert ProviderSettings(kind="native", base_url="u").serves_endpoint("/v1/moderations")


def test_the_config_refuses_an_endpoint_without_a_spec_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "batchgate.toml"
    path.write_text('[providers.local]\nkind = "native"\nbase_url = "u"\nendpoints = ["/v1/images/edits"]\n')
    with pytest.raises(ConfigError, match=r"'/v1/images/edits' - at `\$\.providers\[\.\.\.\]\.endpoints\[0\]`"):
        load_settings(path, environ={})


def _responses_line(usage: dict[str, object] | None, status: int = 200) -> bytes:
    body = {"id": "resp_1", "object": "response", "output": [], "usage": usage}
    return msgspec.json.encode({"id": "b", "custom_id": "c", "response": {"status_code": status, "body": body}})


def test_responses_usage_lands_in_the_same_totals() -> None:
    accumulator = UsageAccumulator(ENDPOINTS["/v1/responses"].usage)
    full = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 30},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 120,
    }
    accumulator.add_many([_responses_line(full), _responses_line({"input_tokens": 5, "output_tokens": 1})])
    accumulator.add(_responses_line(None, status=400))
    assert accumulator.totals() == UsageTotals(
        input_tokens=105,
        cached_input_tokens=30,
        output_tokens=21,
        reasoning_tokens=12,
        requests_completed=2,
        requests_failed=1,
    )
    # The chat view does not read Responses names: each endpoint reads its own shape.
    chat = UsageAccumulator("chat")
    chat.add(_responses_line(full))
    assert chat.totals().input_tokens == 0


def _settings() -> Settings:
    providers = {
        "local": ProviderSettings(kind="native", base_url="u"),
        "upstream": ProviderSettings(kind="openai_batch", base_url="u", endpoints=["/v1/chat/completions"]),
    }
    price = {"input_usd_per_mtok": Decimal(1), "output_usd_per_mtok": Decimal(1)}
    models = [ModelRoute(name="a", provider="local", **price), ModelRoute(name="b", provider="upstream", **price)]
    return Settings(providers=providers, models=models)


@pytest.mark.parametrize(
    ("endpoint", "model", "refused"),
    [
        ("/v1/responses", "a", None),
        ("/v1/moderations", "a", None),
        ("/v1/chat/completions", "b", None),
        ("/v1/responses", None, None),  # no model read: validation names the line
        ("/v1/responses", "nobody", None),  # no route: validation's model_not_found, with its line
        ("/v1/responses", "b", "its route is provider 'upstream' (openai_batch), which serves /v1/chat/completions"),
        ("/v1/images/generations", "a", "for model 'a': its route is provider 'local' (native), which serves"),
        ("/v1/videos", None, "not served by any route of this gateway"),
    ],
)
def test_unserved_names_the_endpoint_and_the_models_route(
    endpoint: str, model: str | None, refused: str | None
) -> None:
    verdict = unserved(_settings(), endpoint, model)
    if refused is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert endpoint in verdict
        assert refused in verdict


@pytest.mark.parametrize(
    ("data", "model"),
    [
        (b'{"custom_id": "a", "body": {"model": "m1", "input": "x"}}\n{"body": {"model": "m2"}}\n', "m1"),
        (b'\xef\xbb\xbf{"body": {"model": "bom"}}', "bom"),  # no newline, BOM: validation reports the BOM
        (b'{"body": {"input": "no model"}}\n', None),
        (b"not json\n", None),
        (b'{"body": {"model": "' + b"x" * (2 << 20) + b'"}}\n', None),  # a first line past the 1 MiB read
    ],
)
async def test_the_first_lines_model_is_read_from_storage(tmp_path: Path, data: bytes, model: str | None) -> None:
    storage = LocalStorage(tmp_path)
    await storage.write("files/in", _once(data))
    assert await first_line_model(storage, "files/in") == model


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def test_the_registry_sits_low_and_accounting_imports_neither_upper_layer() -> None:
    probe = (
        "import sys, providers.endpoints, accounting.usage, gateway.validation; "
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules if m.count('.') and "
        "m.split('.')[0] in ('gateway', 'providers', 'accounting')}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "providers.config" not in loaded  # the registry pulls in no provider code
    assert "gateway.config.settings" not in loaded
    alone = "import sys, accounting.usage; print(any(m.startswith(('providers', 'gateway')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", alone], capture_output=True, text=True, check=True).stdout == "False\n"


def test_settings_built_in_code_refuse_an_endpoint_without_a_spec() -> None:
    with pytest.raises(msgspec.ValidationError, match="cannot serve '/v1/videos'"):
        ProviderSettings(kind="native", base_url="u", endpoints=["/v1/videos"])


def test_moderations_bill_nothing_unless_the_upstream_reports_usage() -> None:
    def moderation(usage: dict[str, int] | None) -> bytes:
        body = {"id": "modr-1", "model": "omni", "results": [{"flagged": False}]} | ({"usage": usage} if usage else {})
        return msgspec.json.encode({"id": "b", "custom_id": "c", "response": {"status_code": 200, "body": body}})

    accumulator = UsageAccumulator(ENDPOINTS["/v1/moderations"].usage)
    accumulator.add(moderation(None))
    assert (accumulator.totals().input_tokens, accumulator.totals().requests_completed) == (0, 1)
    accumulator.add(moderation({"prompt_tokens": 9, "total_tokens": 9}))
    assert (accumulator.totals().input_tokens, accumulator.totals().output_tokens) == (9, 0)
