"""`/v1/responses` and `/v1/moderations` batches through the SDK, and the 400 at create for an endpoint no
route of the file's model serves: a gateway with a worker, the native executor against the real-time
simulator, and a DeepSeek-flavoured batch upstream that must see no upload for a refused batch."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import openai
import pytest

from gateway.config.settings import ModelRoute, Settings
from providers.config import NativeSettings, OpenAIBatchSettings
from tests.conftest import TENANT_KEYS
from tests.e2e.conftest import KEYS
from tests.e2e.test_providers_sdk import assert_each_custom_id_once, result_lines
from tests.support.batch_upstream import BatchUpstream
from tests.support.gateway_server import GatewayServer
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.schemas import assert_matches
from tests.support.workflow import jsonl, line, wait_for

PRICES = {
    "input_usd_per_mtok": Decimal("1"),
    "cached_input_usd_per_mtok": Decimal("0.1"),
    "output_usd_per_mtok": Decimal("2"),
}


@pytest.fixture
def served(
    settings: Settings, deepseek: BatchUpstream, realtime: RealtimeUpstream, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayServer]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    providers = {
        # The native kind runs every endpoint by default; this batch upstream lists only chat.
        "local": NativeSettings(base_url=realtime.base_url, api_key_env="TEST_LOCAL_KEY"),
        "deepseek": OpenAIBatchSettings(
            base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
            endpoints=["/v1/chat/completions"], poll_interval_seconds=0.2,
        ),
    }  # fmt: skip
    models = [
        ModelRoute(name="local-model", provider="local", upstream_model="tiny", **PRICES),
        ModelRoute(name="deepseek-chat", provider="deepseek", **PRICES),
    ]
    server = GatewayServer(msgspec.structs.replace(settings, providers=providers, models=models), run_worker=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sdk(served: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=served.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
        yield client


def responses_line(custom_id: str, index: int, *, model: str = "local-model") -> dict[str, object]:
    """Both input shapes, instructions, tools passed through, and output caps above and below the simulator's 16."""
    items: Any = [
        {"role": "developer", "content": "answer briefly"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"question {custom_id}"}]},
    ]
    body: dict[str, object] = {"model": model, "input": f"say {custom_id}" if index % 2 else items}
    if index % 3 == 0:
        body |= {"instructions": "be terse", "max_output_tokens": 8 + index % 20}
    if index % 5 == 0:
        body["tools"] = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/responses", "body": body}


def create(sdk: openai.OpenAI, lines: list[dict[str, object]], endpoint: str) -> openai.types.Batch:
    upload = sdk.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    return sdk.batches.create(input_file_id=upload.id, endpoint=endpoint, completion_window="24h")  # type: ignore[arg-type]


def accounting(served: GatewayServer, batch_id: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    reply = httpx.get(f"{served.base_url}/accounting/batches/{batch_id}", headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    record: dict[str, Any] = reply.json()
    return record


@pytest.mark.parametrize("count", [pytest.param(1000, marks=pytest.mark.slow), 150])
def test_a_responses_batch_runs_natively_and_the_ledger_equals_the_upstream_usage(
    sdk: openai.OpenAI, served: GatewayServer, realtime: RealtimeUpstream, count: int
) -> None:
    """1,000 lines under `-m slow` (about 9 s on a loaded 2-core machine); 150 in the default suite."""
    ids = [f"r{i}" for i in range(count)]
    lines = [responses_line(custom_id, i) for i, custom_id in enumerate(ids)]
    for request in lines[:20]:
        assert_matches("ResponsesBatchRequestInput", request)
    batch = create(sdk, lines, "/v1/responses")
    done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=60)
    assert done.status == "completed", done.errors
    assert_each_custom_id_once(sdk, done, ids)
    outputs = result_lines(sdk, done.output_file_id)
    assert len(outputs) == count
    assert done.error_file_id is None
    for output in outputs:
        assert_matches("ResponsesBatchRequestOutput", output)
    first: Any = outputs[0]
    assert first["response"]["status_code"] == 200
    assert first["error"] is None
    assert first["response"]["body"]["object"] == "response"
    assert all(request.path == "/v1/responses" for request in realtime.requests)
    assert {request.body["model"] for request in realtime.requests} == {"tiny"}
    assert any("tools" in request.body for request in realtime.requests)  # passed through untouched

    usages = [request.usage for request in realtime.requests if request.status == 200 and request.usage]
    assert len(usages) == count
    expected = {
        "input_tokens": sum(u["input_tokens"] for u in usages),
        "cached_input_tokens": sum(u["input_tokens_details"]["cached_tokens"] for u in usages),
        "output_tokens": sum(u["output_tokens"] for u in usages),
        "reasoning_tokens": sum(u["output_tokens_details"]["reasoning_tokens"] for u in usages),
    }
    assert all(value > 0 for value in expected.values())
    record = accounting(served, done.id)
    assert {key: record[key] for key in expected} == expected
    assert record["endpoint"] == "/v1/responses"
    assert record["requests_completed"] == count
    assert done.usage is not None
    assert done.usage.input_tokens == expected["input_tokens"]
    assert done.usage.input_tokens_details.cached_tokens == expected["cached_input_tokens"]
    assert done.usage.output_tokens_details.reasoning_tokens == expected["reasoning_tokens"]


def test_a_bad_responses_file_fails_validation_with_its_line_numbers(sdk: openai.OpenAI) -> None:
    lines = [responses_line(f"ok{i}", i) for i in range(6)]
    lines[1]["body"] = {"model": "local-model", "input": "x", "stream": True}
    lines[2]["body"] = {"model": "local-model", "input": "x", "background": True}
    lines[3]["body"] = {"model": "local-model", "input": [{"role": "robot", "content": "x"}]}
    lines[4]["body"] = {"model": "local-model", "instructions": "no input", "max_output_tokens": 0}
    batch = create(sdk, lines, "/v1/responses")
    done = wait_for(sdk, batch.id, {"failed", "completed"}, timeout=20)
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data is not None
    found = {(error.line, error.code, error.param) for error in done.errors.data}
    assert found == {
        (2, "stream_not_supported", "body.stream"),
        (3, "invalid_value", "body.background"),
        (4, "invalid_value", "body.input[0].role"),
        (5, "missing_required_parameter", "body.input"),
        (5, "invalid_value", "body.max_output_tokens"),
    }


def test_a_moderations_batch_runs_natively_and_bills_no_tokens_without_upstream_usage(
    sdk: openai.OpenAI, served: GatewayServer, realtime: RealtimeUpstream
) -> None:
    inputs: list[object] = ["hello", ["a", "flag b"], [{"type": "text", "text": "c"}]]
    lines = [
        {"custom_id": f"m{i}", "method": "POST", "url": "/v1/moderations", "body": {"model": "local-model", "input": x}}
        for i, x in enumerate(inputs)
    ]
    batch = create(sdk, lines, "/v1/moderations")
    done = wait_for(sdk, batch.id, {"completed", "failed", "expired", "cancelled"}, timeout=30)
    assert done.status == "completed", done.errors
    assert_each_custom_id_once(sdk, done, ["m0", "m1", "m2"])
    for request in lines:
        assert_matches("ModerationsBatchRequestInput", request)
    for output in result_lines(sdk, done.output_file_id):
        assert_matches("ModerationsBatchRequestOutput", output)
    assert [request.path for request in realtime.requests] == ["/v1/moderations"] * 3
    record = accounting(served, done.id)
    assert (record["requests_completed"], record["input_tokens"], record["output_tokens"]) == (3, 0, 0)
    assert record["batch_cost_usd"] == "0"


UNSERVED = [
    ("/v1/images/generations", "local-model", "provider 'local' (native)"),
    ("/v1/images/edits", "local-model", "provider 'local' (native)"),
    ("/v1/videos", "local-model", "provider 'local' (native)"),
    ("/v1/responses", "deepseek-chat", "provider 'deepseek' (openai_batch), which serves /v1/chat/completions"),
]


def test_an_endpoint_no_route_of_the_model_serves_is_refused_at_create_before_any_upload(
    sdk: openai.OpenAI, deepseek: BatchUpstream
) -> None:
    for endpoint, model, named in UNSERVED:  # one gateway for all cases: each start costs about a second
        with pytest.raises(openai.BadRequestError) as refused:
            create(sdk, [line("x0", model=model, url=endpoint)], endpoint)
        error: Any = refused.value.body
        assert error["param"] == "endpoint"
        assert error["code"] == "invalid_value"
        assert endpoint in error["message"]
        assert repr(model) in error["message"]
        assert named in error["message"]
    # A served endpoint passes the same check (its file is then validated and run as usual).
    assert create(sdk, [line("ok", model="deepseek-chat")], "/v1/chat/completions").status == "validating"
    assert len(sdk.batches.list().data) == 1
    assert all(batch.endpoint == "/v1/chat/completions" for batch in deepseek.store.batches.values())


def test_an_openai_batch_upstream_listing_responses_serves_them_with_their_usage(
    settings: Settings, deepseek: BatchUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DEEPSEEK_KEY", KEYS["TEST_DEEPSEEK_KEY"])
    provider = OpenAIBatchSettings(
        base_url=deepseek.base_url, api_key_env="TEST_DEEPSEEK_KEY",
        endpoints=["/v1/chat/completions", "/v1/responses"], poll_interval_seconds=0.2,
    )  # fmt: skip
    routed = msgspec.structs.replace(
        settings, providers={"up": provider}, models=[ModelRoute(name="up-model", provider="up", **PRICES)]
    )
    ids = [f"u{i}" for i in range(30)]
    server = GatewayServer(routed, run_worker=True)
    server.start()
    try:
        with openai.OpenAI(base_url=server.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
            lines = [responses_line(x, i, model="up-model") for i, x in enumerate(ids)]
            done = wait_for(client, create(client, lines, "/v1/responses").id, {"completed", "failed"}, timeout=30)
            assert done.status == "completed", done.errors
            assert_each_custom_id_once(client, done, ids)
        [upstream] = deepseek.store.batches.values()
        assert upstream.endpoint == "/v1/responses"
        assert upstream.usage is not None
        record = accounting(server, done.id)
    finally:
        server.stop()
    assert record["input_tokens"] == upstream.usage.input_tokens > 0
    assert record["cached_input_tokens"] == upstream.usage.input_tokens_details["cached_tokens"]
    assert record["output_tokens"] == upstream.usage.output_tokens > 0
