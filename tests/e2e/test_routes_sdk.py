"""Fallback routes from the outside: the official SDK against the gateway (API + worker), its lines served by
simulated upstreams — a DeepSeek-flavoured batch API and a real-time endpoint run by the native executor.

Each case checks that every custom_id ends exactly once, that the lines a route could not finish ran on the next
route and only there, and the ledger's per-route figures against the simulators' own token counts, priced by
the formula computed here (ARCHITECTURE.md §2.4).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from gateway.storage.factory import open_storage
from gateway.worker.providers import ProviderSet
from providers.base import Provider
from providers.config import NativeSettings, OpenAIBatchSettings, ProviderSettings
from providers.openai_batch.provider import OpenAIBatchProvider
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.support.batch_upstream import BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line, wait_for

MODEL = "deepseek-chat"
BATCH_PRICES = {"input": Decimal("0.28"), "cached": Decimal("0.028"), "output": Decimal("0.42")}
REALTIME_PRICES = {"input": Decimal("0.14"), "cached": Decimal("0.028"), "output": Decimal("0.28")}
FAST = {"poll_interval_seconds": 0.2, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05}


def _batch_api(upstream: BatchUpstream) -> ProviderSettings:
    return OpenAIBatchSettings(
        base_url=upstream.base_url, api_key_env="TEST_DEEPSEEK_KEY",
        batch_discount=Decimal("0.5"), endpoints=["/v1/chat/completions"], **FAST,  # type: ignore[arg-type]
    )  # fmt: skip


def _realtime(upstream: RealtimeUpstream) -> ProviderSettings:
    return NativeSettings(
        base_url=upstream.base_url, api_key_env="TEST_LOCAL_KEY", max_attempts=2,
        **FAST,  # type: ignore[arg-type]
    )  # fmt: skip


def _route(provider: str, prices: dict[str, Decimal], upstream_model: str) -> ModelRoute:
    return ModelRoute(
        name=MODEL, provider=provider, upstream_model=upstream_model, input_usd_per_mtok=prices["input"],
        cached_input_usd_per_mtok=prices["cached"], output_usd_per_mtok=prices["output"],
    )  # fmt: skip


def _serve(settings: Settings, providers: dict[str, ProviderSettings], models: list[ModelRoute]) -> GatewayServer:
    server = GatewayServer(msgspec.structs.replace(settings, providers=providers, models=models), run_worker=True)
    server.start()
    return server


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def batch_first(
    settings: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, keys: None
) -> Iterator[GatewayServer]:
    """deepseek-chat: the batch API first, then the real-time API (DeepSeek's defaults, on simulators)."""
    providers = {"deepseek": _batch_api(deepseek), "deepseek-realtime": _realtime(realtime)}
    models = [
        _route("deepseek", BATCH_PRICES, "deepseek-chat"),
        _route("deepseek-realtime", REALTIME_PRICES, "deepseek-v4-flash"),
    ]
    server = _serve(settings, providers, models)
    yield server
    server.stop()


@pytest.fixture
def realtime_first(
    settings: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, keys: None
) -> Iterator[GatewayServer]:
    """The other way round: the native executor first, the batch API for what its retries could not finish."""
    providers = {"deepseek-realtime": _realtime(realtime), "deepseek": _batch_api(deepseek)}
    models = [
        _route("deepseek-realtime", REALTIME_PRICES, "deepseek-v4-flash"),
        _route("deepseek", BATCH_PRICES, "deepseek-chat"),
    ]
    server = _serve(settings, providers, models)
    yield server
    server.stop()


def _sdk(server: GatewayServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)


def _run(server: GatewayServer, ids: list[str]) -> openai.types.Batch:
    with _sdk(server) as sdk:
        upload = sdk.files.create(file=("in.jsonl", jsonl([line(i, model=MODEL) for i in ids])), purpose="batch")
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        return wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=60)


def _results(server: GatewayServer, file_id: str | None) -> list[dict[str, object]]:
    if file_id is None:
        return []
    with _sdk(server) as sdk:
        return [json.loads(text) for text in sdk.files.content(file_id).text.splitlines()]


def _each_once(server: GatewayServer, batch: openai.types.Batch, ids: list[str]) -> list[dict[str, object]]:
    output = _results(server, batch.output_file_id)
    seen = [item["custom_id"] for item in output + _results(server, batch.error_file_id)]
    assert sorted(seen) == sorted(ids)  # type: ignore[type-var]
    return output


def _ledger(server: GatewayServer, batch_id: str) -> dict[str, object]:
    url = f"{server.base_url}/accounting/batches/{batch_id}"
    record: dict[str, object] = httpx.get(url, headers={"authorization": f"Bearer {TENANT_KEYS['alpha']}"}).json()
    return record


def _cost(tokens: tuple[int, int, int], prices: dict[str, Decimal], discount: Decimal) -> tuple[Decimal, Decimal]:
    """(list, batch) of (input, cached, output) tokens: the contract's formula, computed independently."""
    prompt, cached, output = tokens
    listed = ((prompt - cached) * prices["input"] + cached * prices["cached"] + output * prices["output"]) / 10**6
    return listed, listed * (1 - discount)


def _batch_api_tokens(upstream: BatchUpstream, batch_id: str) -> tuple[int, int, int]:
    legs = {batch_id, f"{batch_id}-r2"}  # the upstream id of the batch's first leg, or of its second
    mine = [b for b in upstream.store.batches.values() if (b.metadata or {}).get("batchgate_batch_id") in legs]
    usages = [b.usage for b in mine if b.usage is not None]
    return (
        sum(u.input_tokens for u in usages),
        sum(u.input_tokens_details["cached_tokens"] for u in usages),
        sum(u.output_tokens for u in usages),
    )


def _realtime_tokens(upstream: RealtimeUpstream) -> tuple[int, int, int]:
    served = [r.usage for r in upstream.requests if r.status == 200 and r.usage]
    return sum(u["prompt_tokens"] for u in served), 0, sum(u["completion_tokens"] for u in served)


def _route_figures(record: dict[str, object], provider: str) -> dict[str, object]:
    routes = record["routes"]
    assert isinstance(routes, list)
    return next(route for route in routes if route["provider"] == provider)


def _marker_ids(upstream: RealtimeUpstream) -> list[str]:
    return [r.body["messages"][-1]["content"].removeprefix("hello ") for r in upstream.requests]


def test_no_batch_api_completes_on_the_realtime_route(
    batch_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.batch_api_status = 404
    ids = [f"a{i}" for i in range(20)]
    done = _run(batch_first, ids)
    assert done.status == "completed", done.errors
    output = _each_once(batch_first, done, ids)
    assert len(output) == len(ids)
    assert sorted(_marker_ids(realtime)) == sorted(ids)  # every line once, on the real-time route
    assert {r.body["model"] for r in realtime.requests} == {"deepseek-v4-flash"}
    assert deepseek.recorder.calls["create"] == 0
    record = _ledger(batch_first, done.id)
    assert record["provider"] == "deepseek-realtime"  # the route that served the batch
    assert _route_figures(record, "deepseek")["requests"] == 0
    assert _route_figures(record, "deepseek-realtime")["requests"] == len(ids)


def test_expired_upstream_batch_hands_its_unfinished_30_percent_to_the_next_route(
    batch_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.expire, deepseek.store.options.expire_fraction = True, 0.7
    ids = [f"b{i:02d}" for i in range(20)]
    done = _run(batch_first, ids)
    assert done.status == "completed", done.errors
    output = _each_once(batch_first, done, ids)
    assert len(output) == len(ids)  # the expired 30% completed on the fallback
    moved = _marker_ids(realtime)
    assert len(moved) == len(set(moved)) == 6  # exactly the unfinished lines, each once
    ran_upstream = {item["custom_id"] for item in output if item["response"]["body"]["model"] == "deepseek-chat"}
    assert ran_upstream.isdisjoint(moved)
    assert len(ran_upstream) == 14
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (20, 20)
    _assert_ledger_matches_simulators(batch_first, done.id, deepseek, realtime)


def _assert_ledger_matches_simulators(
    server: GatewayServer, batch_id: str, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    record = _ledger(server, batch_id)
    expected = {
        "deepseek": (_batch_api_tokens(deepseek, batch_id), BATCH_PRICES, Decimal("0.5")),
        "deepseek-realtime": (_realtime_tokens(realtime), REALTIME_PRICES, Decimal(0)),
    }
    total_list = total_batch = Decimal(0)
    for provider, (tokens, prices, discount) in expected.items():
        figures = _route_figures(record, provider)
        got = (figures["input_tokens"], figures["cached_input_tokens"], figures["output_tokens"])
        assert got == tokens
        listed, paid = _cost(tokens, prices, discount)
        assert Decimal(str(figures["list_cost_usd"])) == listed
        assert Decimal(str(figures["batch_cost_usd"])) == paid
        total_list, total_batch = total_list + listed, total_batch + paid
    assert Decimal(str(record["list_cost_usd"])) == total_list
    assert Decimal(str(record["batch_cost_usd"])) == total_batch
    assert Decimal(str(record["savings_usd"])) == total_list - total_batch
    print(f"\n{batch_id}: list {total_list} batch {total_batch} tokens (in, cached, out) by route",
          {provider: entry[0] for provider, entry in expected.items()})  # fmt: skip


def test_exhausted_native_retries_go_to_the_next_route(
    realtime_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    ids = [f"c{i}" for i in range(10)]
    realtime.faults = {"hello c3": ["500", "500"], "hello c7": ["503", "503"], "hello c5": ["400"]}
    done = _run(realtime_first, ids)
    assert done.status == "completed", done.errors
    output = _each_once(realtime_first, done, ids)
    errors = _results(realtime_first, done.error_file_id)
    assert [item["custom_id"] for item in errors] == ["c5"]  # a 400 is an answer: it stays, it does not move
    by_id = {item["custom_id"]: item["response"]["body"]["model"] for item in output}
    assert by_id["c3"] == by_id["c7"] == "deepseek-chat"  # finished by the batch API
    assert {m for i, m in by_id.items() if i not in ("c3", "c7")} == {"deepseek-v4-flash"}
    uploaded = list(deepseek.store.batches.values())
    assert len(uploaded) == 1
    assert uploaded[0].request_counts.total == 2
    assert (uploaded[0].metadata or {})["batchgate_batch_id"] == f"{done.id}-r2"
    _assert_ledger_matches_simulators(realtime_first, done.id, deepseek, realtime)


def test_rejected_key_fails_loudly_without_falling_back(
    batch_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.api_key = "sk-someone-else"
    done = _run(batch_first, ["d1", "d2"])
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data
    error = done.errors.data[0]
    assert error.code == "provider_auth_failed"
    assert "TEST_DEEPSEEK_KEY" in (error.message or "")
    assert realtime.requests == []  # no fallback on a rejected key


def test_cancel_during_the_first_route_starts_no_new_leg(
    batch_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.hang = True
    with _sdk(batch_first) as sdk:
        upload = sdk.files.create(file=("in.jsonl", jsonl([line(f"e{i}", model=MODEL) for i in range(4)])),
                                  purpose="batch")  # fmt: skip
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        deadline = time.monotonic() + 20
        while deepseek.recorder.calls["create"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        sdk.batches.cancel(batch.id)
        done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=30)
    assert done.status == "cancelled"
    assert realtime.requests == []


def test_an_upstream_batch_that_fails_validation_moves_every_line(
    batch_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.validation_errors = [{"code": "invalid_model", "message": "no", "param": None, "line": 1}]
    ids = [f"v{i}" for i in range(8)]
    done = _run(batch_first, ids)
    assert done.status == "completed", done.errors
    assert len(_each_once(batch_first, done, ids)) == len(ids)
    assert sorted(_marker_ids(realtime)) == sorted(ids)


def test_a_last_route_that_fails_keeps_the_earlier_routes_results(
    realtime_first: GatewayServer, deepseek: BatchUpstream, realtime: RealtimeUpstream
) -> None:
    deepseek.store.options.validation_errors = [{"code": "invalid_model", "message": "no", "param": None, "line": 1}]
    realtime.faults = {"hello l2": ["500", "500"]}
    ids = [f"l{i}" for i in range(5)]
    done = _run(realtime_first, ids)
    assert done.status == "completed"  # not `failed`: four lines succeeded on the first route
    output = _each_once(realtime_first, done, ids)
    assert sorted(item["custom_id"] for item in output) == ["l0", "l1", "l3", "l4"]
    errors = _results(realtime_first, done.error_file_id)
    assert [(item["custom_id"], item["error"]["code"]) for item in errors] == [("l2", "batch_failed")]
    assert done.errors is not None
    assert [error.code for error in done.errors.data] == ["invalid_model"]


@pytest.fixture
def short_window(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, batches=msgspec.structs.replace(settings.batches, window_seconds=3))


def test_expiry_wins_over_the_next_route(
    short_window: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, keys: None
) -> None:
    deepseek.store.options.hang = True
    providers = {"deepseek": _batch_api(deepseek), "deepseek-realtime": _realtime(realtime)}
    models = [_route("deepseek", BATCH_PRICES, "deepseek-chat"), _route("deepseek-realtime", REALTIME_PRICES, "v4")]
    server = _serve(short_window, providers, models)
    try:
        done = _run(server, ["x1", "x2", "x3"])
        assert done.status == "expired"
        output = _each_once(server, done, ["x1", "x2", "x3"])
        errors = _results(server, done.error_file_id)
        assert errors  # the lines the upstream did not run end as never run, not on the next route
        assert {item["error"]["code"] for item in errors} == {"batch_expired"}
        assert len(output) + len(errors) == 3
    finally:
        server.stop()
    assert realtime.requests == []  # the window ended: no new route started


def test_a_next_route_whose_provider_this_worker_lacks_keeps_the_earlier_routes_results(
    settings: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, keys: None
) -> None:
    """A worker whose config lacks the next route's provider (a config change while batches run: the worker
    that handed over had it) ends the batch with what the first route finished, nothing lost."""
    deepseek.store.options.expire, deepseek.store.options.expire_fraction = True, 0.7
    providers = {"deepseek": _batch_api(deepseek), "deepseek-realtime": _realtime(realtime)}
    models = [
        _route("deepseek", BATCH_PRICES, "deepseek-chat"),
        _route("deepseek-realtime", REALTIME_PRICES, "deepseek-v4-flash"),
    ]
    full = msgspec.structs.replace(settings, providers=providers, models=models)
    batch_api = OpenAIBatchProvider("deepseek", providers["deepseek"], open_storage(full), KEYS["TEST_DEEPSEEK_KEY"])
    worker_providers = _InjectedProviders({"deepseek": batch_api})
    server = GatewayServer(full, run_worker=True, providers=worker_providers)
    server.start()
    try:
        ids = [f"m{i:02d}" for i in range(20)]
        done = _run(server, ids)
        output = _each_once(server, done, ids)
        errors = _results(server, done.error_file_id)
    finally:
        worker_providers.close_in_worker_loop()
        server.stop()
    assert done.status == "expired"
    assert done.errors is not None
    assert [error.code for error in done.errors.data] == ["provider_not_configured"]
    assert len(output) == 14  # what the batch API finished before its batch expired
    assert {item["error"]["code"] for item in errors} == {"provider_not_configured"}  # type: ignore[index]
    assert len(errors) == 6
    assert _marker_ids(realtime) == []


class _InjectedProviders(ProviderSet):
    """A test's own providers: the worker does not close what it did not build, so the test closes them, in the
    worker's event loop (their HTTP connections belong to it)."""

    loop: asyncio.AbstractEventLoop | None = None

    def get(self, name: str) -> Provider | None:
        self.loop = asyncio.get_running_loop()
        return super().get(name)

    def close_in_worker_loop(self) -> None:
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(self.aclose(), self.loop).result(timeout=10)
