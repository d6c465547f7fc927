"""Provider kinds are plug-ins: a kind defined here, outside the project's code, registers, loads from a config
file and builds through the gateway's factory, which names no kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.config.settings import ConfigError, load_settings
from gateway.storage.local import LocalStorage
from gateway.worker.providers import build_providers
from providers.base import Provider
from providers.kind import BuildContext, ProviderKind
from providers.native.settings import NativeSettings
from providers.openai_batch.settings import OpenAIBatchSettings
from providers.progress import live_progress
from providers.registry import KINDS, REGISTRY, KindRegistry
from providers.settings import BaseProviderSettings
from tests.support.scripted_provider import ScriptedProvider

ROOT = Path(__file__).resolve().parents[3]


class ToySettings(BaseProviderSettings, tag="toy", kw_only=True, forbid_unknown_fields=True):
    greeting: str = "hello"


class ToyProvider(ScriptedProvider):
    def __init__(self, name: str, settings: ToySettings, context: BuildContext) -> None:
        super().__init__(name, context.blobs)
        self.greeting = settings.greeting
        self.api_key = context.api_key(settings)


def _build(name: str, settings: ToySettings, context: BuildContext) -> Provider:
    return ToyProvider(name, settings, context)


TOY = ProviderKind("toy", ToySettings, _build)

CONFIG = """
[providers.play]
kind = "toy"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "TOY_KEY"
greeting = "ahoy"
endpoints = ["/v1/chat/completions"]

[providers.local]
kind = "native"
base_url = "http://127.0.0.1:9/v1"

[[models]]
name = "m"
provider = "play"

[[models]]
name = "m"
provider = "local"
"""


def test_the_built_in_kinds_are_registered_by_name() -> None:
    assert REGISTRY.names == ("openai_batch", "native")
    assert [kind.settings for kind in KINDS] == [OpenAIBatchSettings, NativeSettings]
    assert REGISTRY.get("native").default_endpoints == NativeSettings(base_url="u").endpoints
    with pytest.raises(KeyError, match="no provider kind 'toy'; known kinds: openai_batch, native"):
        REGISTRY.get("toy")


async def test_a_kind_defined_elsewhere_registers_loads_and_builds(tmp_path: Path) -> None:
    kinds = REGISTRY.with_kinds(TOY)
    assert kinds.get("toy") is TOY
    path = tmp_path / "batchgate.toml"
    path.write_text(CONFIG)
    settings = load_settings(path, environ={}, kinds=kinds)
    play = settings.providers["play"]
    assert isinstance(play, ToySettings)
    assert (play.kind, play.greeting) == ("toy", "ahoy")
    assert [route.provider for route in settings.routes_for("m")] == ["play", "local"]
    assert settings.serves("m", "/v1/responses")  # through its second route, the native one
    redis = Redis.from_url("redis://127.0.0.1:9")  # never connected: neither kind touches Redis when built
    built = build_providers(
        settings, redis, LocalStorage(tmp_path), worker_id="w1", environ={"TOY_KEY": "sk-toy"}, kinds=kinds
    )
    toy = built.get("play")
    assert isinstance(toy, ToyProvider)
    assert (toy.name, toy.greeting, toy.api_key) == ("play", "ahoy", "sk-toy")
    assert type(built.get("local")).__name__ == "NativeProvider"
    await built.aclose()
    await redis.aclose()


def test_without_the_kind_the_same_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "batchgate.toml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError, match=r"`providers\.play\.kind` must be one of 'openai_batch', 'native'"):
        load_settings(path, environ={})
    with_toy = REGISTRY.with_kinds(TOY)
    path.write_text(CONFIG.replace('greeting = "ahoy"', 'greeting = "ahoy"\ndefer_to_off_peak = true'))
    with pytest.raises(ConfigError, match=r"`providers\.play\.defer_to_off_peak`: a key of `native` providers"):
        load_settings(path, environ={}, kinds=with_toy)


def test_a_kind_is_registered_once_and_tagged_with_its_name() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        KindRegistry([TOY, TOY])
    with pytest.raises(ValueError, match="tagged 'toy'"):
        ProviderKind("other", ToySettings, _build)
    with pytest.raises(TypeError, match="are not toy settings"):
        TOY.make("x", NativeSettings(base_url="u"), BuildContext(Redis(), LocalStorage(ROOT), "w"))


def test_the_gateway_names_no_provider_kind() -> None:
    """Adding a kind is a folder in providers/ and a line in the registry: no gateway module names a kind."""
    named = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        if path.parent.name != "validation" and ('"native"' in path.read_text() or '"openai_batch"' in path.read_text())
    ]
    assert named == []


async def test_live_progress_is_read_through_the_kind() -> None:
    """A kind without a live reader answers None without a Redis call (this client could not connect)."""
    redis = Redis.from_url("redis://127.0.0.1:9")
    assert await live_progress("toy", redis, "batch_1", REGISTRY.with_kinds(TOY)) is None
    assert REGISTRY.get("native").live_progress is not None
    assert await live_progress("toy", redis, "batch_1") is None  # not in the built-in registry: no reader
    await redis.aclose()
