"""The accounting API and /metrics after real batches: exact Decimal cost, exactly once, tenant-scoped."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import METRICS_TOKEN, TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.workflow import MODEL, jsonl, line, wait_for


def get(served: GatewayServer, path: str, tenant: str = "alpha", **params: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {TENANT_KEYS[tenant]}"}
    return httpx.get(f"{served.root_url}{path}", headers=headers, params=params, timeout=10)  # type: ignore[arg-type]


def settled_record(served: GatewayServer, batch_id: str, tenant: str = "alpha") -> dict[str, object]:
    """The batch's ledger record once settled (settlement follows the terminal status in the same worker step)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        record: dict[str, object] = get(served, f"/v1/accounting/batches/{batch_id}", tenant).json()
        if record["settled_at"] is not None:
            return record
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} was not settled")


def run_batch(sdk: openai.OpenAI, ids: list[str]) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert wait_for(sdk, batch.id, {"completed", "failed"}).status == "completed"
    return batch.id


def test_settled_record_is_exact_and_counted_once(sdk: openai.OpenAI, served: GatewayServer) -> None:
    batch_id = run_batch(sdk, ["a", "b", "fail-c", "d"])
    for _ in range(5):  # retrieving never bills again
        sdk.batches.retrieve(batch_id)
    record = settled_record(served, batch_id)
    # Tokens: prompt 10+11+13 = 34 (6 cached), completion 15. Prices per 1M: input 1, cached 0.1, output 2.
    list_cost = (Decimal(34 - 6) * 1 + Decimal(6) * Decimal("0.1") + Decimal(15) * 2) / Decimal(10**6)
    assert Decimal(record["list_cost_usd"]) == list_cost
    assert Decimal(record["batch_cost_usd"]) == list_cost * Decimal("0.5")
    assert Decimal(record["savings_usd"]) == list_cost - list_cost * Decimal("0.5")
    assert (record["input_tokens"], record["cached_input_tokens"], record["output_tokens"]) == (34, 6, 15)
    assert (record["requests_completed"], record["requests_failed"]) == (3, 1)
    assert (record["tenant"], record["provider"], record["model"], record["status"]) == (
        "alpha",
        "scripted",
        MODEL,
        "completed",
    )
    assert isinstance(record["settled_at"], int)

    scrape = httpx.get(f"{served.root_url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    money = (("model", MODEL), ("provider", "scripted"), ("tenant", "alpha"))
    assert samples[("batchgate_batch_cost_usd_total", money)] == float(list_cost * Decimal("0.5"))
    assert samples[("batchgate_batch_tokens_total", (("kind", "input"), *money))] == 34
    assert samples[("batchgate_batches_total", (("provider", "scripted"), ("status", "completed"), money[2]))] == 1
    routes = {dict(labels).get("route") for name, labels in samples if name.startswith("batchgate_http_request")}
    assert "/v1/batches/{batch_id}" in routes  # templates, never raw ids
    assert not any(route and "batch_0" in route for route in routes)


def test_listing_csv_summary_and_tenant_scope(
    sdk: openai.OpenAI, beta_key_sdk: openai.OpenAI, served: GatewayServer
) -> None:
    alpha_batch = run_batch(sdk, ["a", "b"])
    settled_record(served, alpha_batch)
    beta_batch = run_batch(beta_key_sdk, ["x"])
    settled_record(served, beta_batch, "beta")

    beta_view = get(served, "/v1/accounting/batches", tenant="beta").json()
    assert [item["batch_id"] for item in beta_view["data"]] == [beta_batch]
    hidden = get(served, f"/v1/accounting/batches/{alpha_batch}", tenant="beta")
    unknown = get(served, "/v1/accounting/batches/batch_nope", tenant="beta")
    assert hidden.status_code == unknown.status_code == 404

    admin_view = get(served, "/v1/accounting/batches", limit=1).json()  # alpha is an admin
    assert admin_view["has_more"] is True
    assert admin_view["data"][0]["batch_id"] == beta_batch
    rest = get(served, "/v1/accounting/batches", after=admin_view["last_id"]).json()
    assert [item["batch_id"] for item in rest["data"]] == [alpha_batch]

    rows = list(csv.DictReader(io.StringIO(get(served, "/v1/accounting/batches", format="csv").text)))
    assert {row["batch_id"] for row in rows} == {alpha_batch, beta_batch}
    by_id = {item["batch_id"]: item for item in admin_view["data"] + rest["data"]}
    for row in rows:
        assert Decimal(row["batch_cost_usd"]) == Decimal(by_id[row["batch_id"]]["batch_cost_usd"])

    summary = get(served, "/v1/accounting/summary", group_by="tenant").json()["data"]
    assert {(row["tenant"], row["batches"]) for row in summary} == {("alpha", 1), ("beta", 1)}
    assert get(served, "/v1/accounting/summary", group_by="colour").status_code == 400


def test_in_flight_batch_shows_its_estimate(sdk: openai.OpenAI, served: GatewayServer, scripted: object) -> None:
    scripted.hold = True  # type: ignore[attr-defined]
    upload = sdk.files.create(file=("in.jsonl", jsonl([line("a")])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    wait_for(sdk, batch.id, {"in_progress"})
    record = get(served, f"/v1/accounting/batches/{batch.id}").json()
    assert record["settled_at"] is None
    assert record["status"] == "in_progress"
    assert Decimal(record["estimated_max_cost_usd"]) > 0


def test_metrics_show_tenant_series_only_to_the_scrape_token(sdk: openai.OpenAI, served: GatewayServer) -> None:
    run_batch(sdk, ["a"])
    settled_record(served, sdk.batches.list().data[0].id)
    scrapes = {
        "token": {"authorization": f"Bearer {METRICS_TOKEN}"},
        "anonymous": {},
        "tenant key": {"authorization": f"Bearer {TENANT_KEYS['alpha']}"},  # an admin tenant is not a scraper
        "wrong token": {"authorization": "Bearer scrape-test-tokeN"},
    }
    texts = {name: httpx.get(f"{served.root_url}/metrics", headers=headers).text for name, headers in scrapes.items()}
    assert 'tenant="alpha"' in texts["token"]
    for name in ("anonymous", "tenant key", "wrong token"):
        text = texts[name]
        assert "tenant=" not in text, name
        assert "alpha" not in text, name
        assert "batchgate_batch_cost_usd" not in text, name  # a family with only tenant series is left out whole
        assert "batchgate_http_request_duration_seconds_bucket" in text, name  # operational series stay
        assert "batchgate_batch_turnaround_seconds_bucket" in text, name
