"""Finance end to end: tags from batch metadata to ledger, CSV, summary, /metrics (capped) and FOCUS; tag budgets."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import openai
import pytest
import redis
from click.testing import CliRunner, Result
from prometheus_client.parser import text_string_to_metric_families

from accounting import keys
from accounting.budget import estimate_max_cost
from accounting.prices import ModelPrice
from gateway.cli.commands import main
from gateway.config.settings import AccountingSettings, Settings, TagBudgetSettings
from gateway.validation import Validator
from gateway.worker.providers import ProviderSet
from tests.conftest import METRICS_TOKEN, TENANT_KEYS
from tests.e2e.test_accounting_api import get, settled_record
from tests.support.focus_rules import check_focus_csv
from tests.support.gateway_server import GatewayServer
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import jsonl, line, wait_for


def _one_line_estimate() -> Decimal:
    """The budget estimate of a one-line batch, by the server's own validator and estimate."""
    validator = Validator("/v1/chat/completions", serves_model=lambda model: True)
    validator.feed(jsonl([line("x")]))
    report = validator.finish()
    price = ModelPrice(
        input_usd_per_mtok=Decimal(1), cached_input_usd_per_mtok=Decimal("0.1"), output_usd_per_mtok=Decimal(2)
    )
    return estimate_max_cost(report.estimated_input_tokens, report.max_output_tokens, price, Decimal("0.5"))


BUDGET = _one_line_estimate() * Decimal("1.5")  # one in-flight one-line batch fits, two do not


@pytest.fixture
def finance(scripted_settings: Settings, scripted: ScriptedProvider) -> Iterator[GatewayServer]:
    accounting = AccountingSettings(
        tag_keys=["team", "project"],
        tag_label_cap=2,
        tag_budgets=[TagBudgetSettings(key="team", value="research", monthly_usd=BUDGET)],
    )
    settings = msgspec.structs.replace(scripted_settings, accounting=accounting)
    server = GatewayServer(settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def alpha(finance: GatewayServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=finance.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0) as client:
        yield client


def create(sdk: openai.OpenAI, ids: list[str], metadata: dict[str, str] | None) -> str:
    upload = sdk.files.create(file=("in.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h", metadata=metadata
    )
    return batch.id


def test_tags_flow_from_metadata_to_ledger_csv_summary_metrics_focus_and_the_cli(
    alpha: openai.OpenAI, finance: GatewayServer, tmp_path: Path
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        create(alpha, ["x"], {"team": "data science"})
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["param"] == "metadata.team"

    ids = []
    # The label cap is 2 per key: a and b settle first and keep their names; the rest run together.
    for wave in (["a"], ["b"], ["c", "research", None]):
        batch_ids = [create(alpha, ["l1"], {"team": t, "project": "apollo"} if t else {"note": "-"}) for t in wave]
        for batch_id in batch_ids:
            assert wait_for(alpha, batch_id, {"completed", "failed"}).status == "completed"
        ids += batch_ids
    records = [settled_record(finance, batch_id) for batch_id in ids]
    assert [record["tags"] for record in records] == [
        {"team": "a", "project": "apollo"},
        {"team": "b", "project": "apollo"},
        {"team": "c", "project": "apollo"},
        {"team": "research", "project": "apollo"},
        {"team": "untagged", "project": "untagged"},
    ]

    rows = list(csv.DictReader(io.StringIO(get(finance, "/v1/accounting/batches", format="csv").text)))
    assert {(row["batch_id"], row["team"], row["project"]) for row in rows} == {
        (record["batch_id"], record["tags"]["team"], record["tags"]["project"])  # type: ignore[index]
        for record in records
    }

    summary = get(finance, "/v1/accounting/summary", group_by="team,provider").json()["data"]
    assert [(row["team"], row["provider"], row["batches"]) for row in summary] == [
        ("a", "scripted", 1),
        ("b", "scripted", 1),
        ("c", "scripted", 1),
        ("research", "scripted", 1),
        ("untagged", "scripted", 1),
    ]
    assert list(summary[0])[:2] == ["team", "provider"]
    assert get(finance, "/v1/accounting/summary", group_by="cost_centre").status_code == 400

    public = httpx.get(f"{finance.root_url}/metrics", timeout=10).text
    assert "batchgate_tag_" not in public  # tag values are business data: only a scrape token sees them
    text = httpx.get(f"{finance.root_url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
    costs = {
        (sample.labels["team"], sample.labels["project"]): Decimal(str(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "batchgate_tag_cost_usd_total"
    }
    # The cap is 2 per key. team: a, b admitted, c past the cap → other; research (budgeted) and untagged are
    # always named.
    assert set(costs) == {
        ("a", "apollo"),
        ("b", "apollo"),
        ("other", "apollo"),
        ("research", "apollo"),
        ("untagged", "untagged"),
    }

    focus = check_focus_csv(get(finance, "/v1/accounting/focus").text)
    assert len(focus) == 3 * len(ids)
    assert sum((Decimal(row["BilledCost"] or "x") for row in focus), Decimal(0)) == sum(
        (Decimal(str(record["batch_cost_usd"])) for record in records), Decimal(0)
    )
    tags = {row["ResourceId"]: json.loads(row["Tags"] or "") for row in focus}
    assert tags[ids[0]] == {"team": "a", "project": "apollo", "batchgate/tenant": "alpha"}
    assert tags[ids[-1]] == {"batchgate/tenant": "alpha"}  # untagged keys are left out, not invented
    assert get(finance, "/v1/accounting/focus", tenant="beta").text.count("\r\n") == 1  # beta: the header only
    _user_cli_reports_the_same(finance, records, tmp_path)


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def _printed(result: Result) -> str:
    """What the command printed: the in-process server's log lines share the captured stdout, so drop them."""
    return "".join(line for line in result.stdout.splitlines(keepends=True) if not _LOG_LINE.match(line))


def _user_cli_reports_the_same(finance: GatewayServer, records: list[dict[str, object]], tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": finance.base_url, "OPENAI_API_KEY": TENANT_KEYS["alpha"]}
    runner = CliRunner()
    total = sum((Decimal(str(record["batch_cost_usd"])) for record in records), Decimal(0))
    table = runner.invoke(main, ["accounting", "summary", "--since", "2020-01-01", "--group-by", "team"], env=env)
    assert table.exit_code == 0, table.output
    assert all(team in _printed(table) for team in ("research", "untagged", "total", "savings rate", "50.0%"))
    assert format(total, "f") in _printed(table)
    printed = runner.invoke(main, ["accounting", "summary", "--group-by", "team,provider", "--csv"], env=env)
    rows = list(csv.DictReader(io.StringIO(_printed(printed))))
    assert [row["team"] for row in rows] == ["a", "b", "c", "research", "untagged", "total"]
    assert Decimal(rows[-1]["batch_cost_usd"]) == total
    assert rows[-1]["savings_rate"] == "50.0%"
    past = runner.invoke(main, ["accounting", "summary", "--until", "2020-01-01", "--json"], env=env)
    assert json.loads(_printed(past)) == {"object": "list", "data": []}
    output = tmp_path / "nov.csv"
    exported = runner.invoke(main, ["accounting", "export", "--focus", "--output", str(output)], env=env)
    assert exported.exit_code == 0, exported.output
    assert len(check_focus_csv(output.read_text())) == 3 * len(records)
    bad = runner.invoke(main, ["accounting", "summary", "--since", "last tuesday"], env=env)
    assert bad.exit_code == 2
    assert "--since" in bad.output


def test_tag_budget_refuses_the_batch_that_would_cross_it_and_settling_releases(
    alpha: openai.OpenAI, finance: GatewayServer, scripted: ScriptedProvider
) -> None:
    scripted.hold = True
    held = create(alpha, ["a"], {"team": "research"})
    wait_for(alpha, held, {"in_progress"})
    refused = wait_for(alpha, create(alpha, ["b"], {"team": "research"}), {"failed", "in_progress"})
    assert refused.status == "failed"
    assert refused.errors
    assert refused.errors.data
    error = refused.errors.data[0]
    assert error.code == "budget_exceeded"
    assert "team=research" in (error.message or "")
    assert error.param == "metadata.team"
    other_team = create(alpha, ["c"], {"team": "ops"})
    wait_for(alpha, other_team, {"in_progress"})

    scripted.hold = False
    assert wait_for(alpha, held, {"completed", "failed"}).status == "completed"
    settled_record(finance, held)
    again = create(alpha, ["d"], {"team": "research"})  # the reservation went with settlement: room again
    assert wait_for(alpha, again, {"completed", "failed"}).status == "completed"
    settled_record(finance, again)
    client = redis.Redis.from_url(finance.settings.redis.url)
    try:
        assert client.hlen(keys.tag_reservation_owners()) == 0
        assert client.hlen(keys.tag_reservations("team=research")) == 0
    finally:
        client.close()
