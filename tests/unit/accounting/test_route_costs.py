"""A batch's cost per route: each leg priced by its route, the batch the exact sum, metrics by serving provider."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import msgspec
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounting.cost import price_usage
from accounting.metrics import Metrics
from accounting.prices import ModelPrice
from accounting.records import LedgerRecord, csv_header, csv_row
from accounting.route_costs import price_leg, route_cost, sum_costs
from accounting.usage import UsageTotals

BATCH_API = ModelPrice(input_usd_per_mtok=Decimal("0.28"), output_usd_per_mtok=Decimal("0.42"),
                       cached_input_usd_per_mtok=Decimal("0.028"))  # fmt: skip
REALTIME = ModelPrice(input_usd_per_mtok=Decimal("0.14"), output_usd_per_mtok=Decimal("0.28"),
                      cached_input_usd_per_mtok=Decimal("0.028"))  # fmt: skip
FIRST = UsageTotals(input_tokens=1000, cached_input_tokens=400, output_tokens=300, requests_completed=7)
SECOND = UsageTotals(input_tokens=500, output_tokens=200, requests_completed=3, requests_failed=1)


def test_one_leg_is_priced_exactly_as_a_batch_of_one_route() -> None:
    assert price_leg(FIRST, BATCH_API, Decimal("0.5")) == price_usage(FIRST, BATCH_API, Decimal("0.5"))
    assert sum_costs([price_leg(FIRST, BATCH_API, Decimal("0.5"))]) == price_usage(FIRST, BATCH_API, Decimal("0.5"))


def test_the_batch_is_the_exact_sum_of_its_legs() -> None:
    first, second = price_leg(FIRST, BATCH_API, Decimal("0.5")), price_leg(SECOND, REALTIME, Decimal(0))
    # (600 x 0.28 + 400 x 0.028 + 300 x 0.42) / 10^6 = 0.0003052; x 0.5 = 0.0001526
    assert (first.list_usd, first.batch_usd) == (Decimal("0.0003052"), Decimal("0.0001526"))
    # (500 x 0.14 + 200 x 0.28) / 10^6 = 0.000126, no discount
    assert (second.list_usd, second.batch_usd, second.savings_usd) == (Decimal("0.000126"), Decimal("0.000126"), 0)
    total = sum_costs([first, second])
    assert (total.list_usd, total.batch_usd, total.savings_usd) == (
        Decimal("0.0004312"), Decimal("0.0002786"), Decimal("0.0001526"),
    )  # fmt: skip
    assert total.priced
    assert not sum_costs([first, price_leg(SECOND, None, Decimal(0))]).priced


def _two_routes() -> LedgerRecord:
    first, second = price_leg(FIRST, BATCH_API, Decimal("0.5")), price_leg(SECOND, REALTIME, Decimal(0))
    routes = (route_cost("deepseek", "deepseek-chat", FIRST, first),
              route_cost("deepseek-realtime", "deepseek-v4-flash", SECOND, second))  # fmt: skip
    return LedgerRecord.build(
        batch_id="batch_1", tenant="t", provider="deepseek", model="deepseek-chat", endpoint="/v1/chat/completions",
        status="completed", usage=FIRST + SECOND, cost=sum_costs([first, second]), settled_at=1, routes=routes,
    )  # fmt: skip


def test_csv_appends_routes_as_one_json_column_after_the_existing_ones() -> None:
    record = _two_routes()
    header = next(csv.reader(io.StringIO(csv_header(["team"]))))
    # pinned: existing columns keep their order; `routes`, the one JSON column, is the last field
    assert header[-4:] == ["estimated_max_cost_usd", "deferred_until", "routes", "team"]
    row = dict(zip(header, next(csv.reader(io.StringIO(csv_row(record, ["team"])))), strict=True))
    routes = json.loads(row["routes"])
    assert [(r["provider"], r["model"], r["requests"]) for r in routes] == [
        ("deepseek", "deepseek-chat", 7), ("deepseek-realtime", "deepseek-v4-flash", 4),
    ]  # fmt: skip
    assert Decimal(routes[1]["list_cost_usd"]) == Decimal("0.000126")  # money as a decimal string


def test_metrics_count_tokens_and_money_by_the_provider_that_served_them() -> None:
    registry = CollectorRegistry()
    Metrics(registry).record_settlement(_two_routes(), 1.0)
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }

    def tokens(provider: str, kind: str) -> float:
        labels = {"tenant": "t", "provider": provider, "model": "deepseek-chat", "kind": kind}
        return samples["batchgate_batch_tokens_total", frozenset(labels.items())]

    assert (tokens("deepseek", "input"), tokens("deepseek-realtime", "input")) == (1000, 500)
    assert (tokens("deepseek", "output"), tokens("deepseek-realtime", "output")) == (300, 200)
    cost = {"tenant": "t", "provider": "deepseek-realtime", "model": "deepseek-chat"}
    assert samples["batchgate_batch_cost_usd_total", frozenset(cost.items())] == 0.000126
    batches = {"tenant": "t", "provider": "deepseek", "status": "completed"}
    assert samples["batchgate_batches_total", frozenset(batches.items())] == 1  # a batch is counted once


def test_the_ledger_provider_is_the_route_that_completed_the_most_requests() -> None:
    from gateway.batches import BatchRecord
    from gateway.worker.leg_costs import serving_provider

    record = BatchRecord(id="b", tenant="t", endpoint="/v1/chat/completions", input_file_id="f", created_at=0,
                         provider="deepseek-realtime")  # fmt: skip
    refused = route_cost("deepseek", "deepseek-chat", UsageTotals(), price_leg(UsageTotals(), BATCH_API, Decimal(0)))
    served = _two_routes().routes[1]
    assert serving_provider(record, (refused, served)) == "deepseek-realtime"  # 0 vs 3 completed
    assert serving_provider(record, _two_routes().routes) == "deepseek"  # 7 vs 3
    tie = msgspec.structs.replace(served, requests_completed=7)
    assert serving_provider(record, (_two_routes().routes[0], tie)) == "deepseek"  # a tie: the earlier route
    assert serving_provider(record, ()) == "deepseek-realtime"  # ran on no route: the batch's own provider


def test_focus_rows_of_a_two_route_batch_name_each_routes_provider_and_sum_to_the_record() -> None:
    from accounting.charges import charges_of
    from accounting.focus import focus_csv
    from tests.support.focus_rules import check_focus_csv

    charges = charges_of(FIRST, BATCH_API, Decimal("0.5")) + charges_of(SECOND, REALTIME, Decimal(0))
    record = msgspec.structs.replace(_two_routes(), charges=charges)
    rows = check_focus_csv("".join(focus_csv([record])))
    assert [row["ProviderName"] for row in rows] == ["deepseek"] * 3 + ["deepseek-realtime"] * 3
    assert [row["ListUnitPrice"] for row in rows] == ["0.28", "0.028", "0.42", "0.14", "0.028", "0.28"]
    assert sum((Decimal(row["BilledCost"] or "x") for row in rows), Decimal(0)) == record.batch_cost_usd
    assert sum((Decimal(row["ListCost"] or "x") for row in rows), Decimal(0)) == record.list_cost_usd
