"""The endpoint registry (`gateway.validation.endpoints`): every spec drives validation, usage and the native
executor; provider defaults per kind, the config check, and the create-time verdict on an endpoint a route
cannot serve."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from accounting.usage import UsageAccumulator, UsageTotals
from gateway.api.endpoint_check import first_line_model, unserved
from gateway.config.settings import ConfigError, ModelRoute, Settings, load_settings
from gateway.storage.local import LocalStorage
from gateway.validation import Validator
from gateway.validation.endpoints import ENDPOINTS, OPENAI_BATCH_ENDPOINTS, EndpointSpec, default_endpoints
from gateway.validation.lines import DEFAULT_CHAT_MAX_OUTPUT_TOKENS
from gateway.validation.usage import ChatUsage
from providers.config import NativeSettings, OpenAIBatchSettings
from providers.native.chunks import _chunk_line
from providers.native.lines import ChunkLine
from providers.native.transport import Delivered, Upstream
from tests.support.realtime_upstream import RealtimeUpstream

# One valid body per endpoint that sets no output limit: a spec without one here fails the test below.
BODIES: dict[str, dict[str, object]] = {
    "/v1/chat/completions": {"model": "m", "messages": [{"role": "user", "content": "hello there"}]},
    "/v1/completions": {"model": "m", "prompt": "hello there"},
    "/v1/embeddings": {"model": "m", "input": "hello there"},
    "/v1/responses": {"model": "m", "input": "hello there"},
    "/v1/moderations": {"model": "m", "input": "hello there"},
}
SPECS = list(ENDPOINTS.values())


def _line(spec: EndpointSpec, body: dict[str, object], custom_id: str = "c1") -> bytes:
    return msgspec.json.encode({"custom_id": custom_id, "method": "POST", "url": spec.url, "body": body})


def test_the_registry_is_what_the_create_call_may_name() -> None:
    assert set(BODIES) == set(ENDPOINTS)
    assert set(ENDPOINTS) < set(OPENAI_BATCH_ENDPOINTS)
    assert all(url == spec.url for url, spec in ENDPOINTS.items())
    assert ENDPOINTS["/v1/chat/completions"].default_max_output_tokens == DEFAULT_CHAT_MAX_OUTPUT_TOKENS


@pytest.mark.parametrize("spec", SPECS, ids=[spec.url for spec in SPECS])
def test_the_spec_drives_validation(spec: EndpointSpec) -> None:
    validator = Validator(spec.url)
    validator.feed(_line(spec, BODIES[spec.url]) + b"\n")
    report = validator.finish()
    assert (report.valid, report.requests, report.model) == (True, 1, "m")
    assert report.max_output_tokens == spec.default_max_output_tokens
    # The same line under another endpoint's URL is refused: each spec's line type pins its URL.
    other = next(url for url in ENDPOINTS if url != spec.url)
    refused = Validator(other)
    refused.feed(_line(spec, BODIES[spec.url]) + b"\n")
    assert not refused.finish().valid


@pytest.mark.parametrize("spec", SPECS, ids=[spec.url for spec in SPECS])
def test_the_spec_drives_the_native_executor_and_usage(spec: EndpointSpec) -> None:
    chunk = msgspec.json.decode(_chunk_line(_line(spec, BODIES[spec.url]), "up-m", spec), type=ChunkLine)
    assert chunk.tokens == spec.estimate_tokens(msgspec.json.decode(chunk.body)) > 0
    with RealtimeUpstream() as realtime:
        realtime.moderation_usage = True
        attempt = asyncio.run(_send(realtime.base_url, spec.url, bytes(chunk.body)))
    assert isinstance(attempt, Delivered)
    assert attempt.status == 200
    assert realtime.requests[0].path == spec.url
    result = {"id": "b", "custom_id": "c1", "response": {"status_code": 200, "body": msgspec.json.decode(attempt.body)}}
    accumulator = UsageAccumulator(spec.usage)
    accumulator.add(msgspec.json.encode(result))
    totals = accumulator.totals()
    assert totals.requests_completed == 1
    assert totals.input_tokens > 0  # read through the spec's usage view, whatever names the shape uses


async def _send(base_url: str, endpoint: str, body: bytes) -> object:
    upstream = Upstream(base_url, None, 1, 10.0, 1.0)
    try:
        return await upstream.send(endpoint, body)
    finally:
        await upstream.aclose()


def test_the_realtime_simulator_serves_every_endpoint() -> None:
    routes = {route.resource.canonical for route in RealtimeUpstream(port=1).app().router.routes()}  # type: ignore[union-attr]
    assert set(ENDPOINTS) <= routes


def test_defaults_per_kind_and_an_openai_batch_upstream_serves_responses_only_when_listed() -> None:
    assert default_endpoints("native") == list(ENDPOINTS)
    assert default_endpoints("openai_batch") == ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
    plain = OpenAIBatchSettings(base_url="u")
    listed = OpenAIBatchSettings(base_url="u", endpoints=["/v1/chat/completions", "/v1/responses"])
    assert not plain.serves_endpoint("/v1/responses")
    assert listed.serves_endpoint("/v1/responses")
    assert NativeSettings(base_url="u").serves_endpoint("/v1/moderations")


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
    chat = UsageAccumulator(ChatUsage)
    chat.add(_responses_line(full))
    assert chat.totals().input_tokens == 0


def _settings() -> Settings:
    providers = {
        "local": NativeSettings(base_url="u"),
        "upstream": OpenAIBatchSettings(base_url="u", endpoints=["/v1/chat/completions"]),
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


def _project_modules_loaded_by(module: str) -> list[str]:
    probe = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m != 'gateway' and "
        "m.split('.')[0] in ('gateway', 'providers', 'accounting')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return list(msgspec.json.decode(out.replace("'", '"')))


def test_the_registry_sits_low_and_accounting_reads_only_it() -> None:
    loaded = _project_modules_loaded_by("gateway.validation.endpoints")
    assert "gateway.validation.spec" in loaded
    assert [m for m in loaded if not m.startswith("gateway.validation")] == []
    outside = [m for m in _project_modules_loaded_by("accounting.usage") if not m.startswith("accounting")]
    assert "gateway.validation.usage" in outside
    assert [m for m in outside if not m.startswith(("gateway.validation", "gateway.core"))] == []


def test_settings_built_in_code_refuse_an_endpoint_without_a_spec() -> None:
    with pytest.raises(msgspec.ValidationError, match="cannot serve '/v1/videos'"):
        NativeSettings(base_url="u", endpoints=["/v1/videos"])


def test_moderations_bill_nothing_unless_the_upstream_reports_usage() -> None:
    def moderation(usage: dict[str, int] | None) -> bytes:
        body = {"id": "modr-1", "model": "omni", "results": [{"flagged": False}]} | ({"usage": usage} if usage else {})
        return msgspec.json.encode({"id": "b", "custom_id": "c", "response": {"status_code": 200, "body": body}})

    accumulator = UsageAccumulator(ENDPOINTS["/v1/moderations"].usage)
    accumulator.add(moderation(None))
    assert (accumulator.totals().input_tokens, accumulator.totals().requests_completed) == (0, 1)
    accumulator.add(moderation({"prompt_tokens": 9, "total_tokens": 9}))
    assert (accumulator.totals().input_tokens, accumulator.totals().output_tokens) == (9, 0)
