"""Fixtures for end-to-end tests: a gateway with an embedded worker driving a scripted provider, and the
upstream simulators (DeepSeek-flavoured batch API, real-time endpoint) that real provider adapters talk to."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal

import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from gateway.storage.local import LocalStorage
from gateway.worker.providers import ProviderSet
from providers.config import NativeSettings
from tests.conftest import METRICS_TOKEN, TENANT_KEYS
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import MODEL

# Upstream keys, set as environment variables by the fixtures that start gateways on real adapters.
KEYS = {"TEST_DEEPSEEK_KEY": "sk-ds-upstream", "TEST_DEEPINFRA_KEY": "sk-di-upstream", "TEST_LOCAL_KEY": "sk-local"}


@pytest.fixture
def deepseek() -> Iterator[BatchUpstream]:
    upstream = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key=KEYS["TEST_DEEPSEEK_KEY"]))
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def realtime() -> Iterator[RealtimeUpstream]:
    with RealtimeUpstream() as upstream:
        yield upstream


@pytest.fixture
def scripted_settings(settings: Settings) -> Settings:
    provider = NativeSettings(base_url="http://127.0.0.1:9/v1", batch_discount=Decimal("0.5"))
    route = ModelRoute(
        name=MODEL,
        provider="scripted",
        input_usd_per_mtok=Decimal("1"),
        cached_input_usd_per_mtok=Decimal("0.1"),
        output_usd_per_mtok=Decimal("2"),
    )
    batches = msgspec.structs.replace(settings.batches, lease_seconds=2.0)
    scrape = [hashlib.sha256(METRICS_TOKEN.encode()).hexdigest()]
    server = msgspec.structs.replace(settings.server, metrics_token_sha256=scrape)
    return msgspec.structs.replace(
        settings, providers={"scripted": provider}, models=[route], batches=batches, server=server
    )


@pytest.fixture
def scripted(scripted_settings: Settings) -> ScriptedProvider:
    return ScriptedProvider("scripted", LocalStorage(scripted_settings.storage_dir))


@pytest.fixture
def served(scripted_settings: Settings, scripted: ScriptedProvider) -> Iterator[GatewayServer]:
    server = GatewayServer(scripted_settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sdk(served: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=served.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
        yield client


@pytest.fixture
def beta_key_sdk(served: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=served.base_url, api_key=TENANT_KEYS["beta"], max_retries=0) as client:
        yield client
