"""Only a settled batch whose model had no price is unpriced: batches refused by validation or by the budget
(never routed, so they ran nothing and cost exactly zero) leave `batchgate_unpriced_batches_total` alone."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import msgspec
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import ModelRoute, Settings
from gateway.worker.providers import ProviderSet
from tests.conftest import TENANT_KEYS
from tests.e2e.test_accounting_api import get, settled_record
from tests.support.gateway_server import GatewayServer
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import jsonl, line, wait_for

UNPRICED_MODEL = "no-price-model"


@pytest.fixture
def budgeted(scripted_settings: Settings, scripted: ScriptedProvider) -> Iterator[GatewayServer]:
    """beta's budget is below any batch's estimate; a second route serves a model with no price."""
    tenants = [
        msgspec.structs.replace(tenant, monthly_budget_usd=Decimal("0.000001")) if tenant.name == "beta" else tenant
        for tenant in scripted_settings.tenants
    ]
    unpriced = ModelRoute(name=UNPRICED_MODEL, provider="scripted")
    settings = msgspec.structs.replace(scripted_settings, tenants=tenants, models=[*scripted_settings.models, unpriced])
    server = GatewayServer(settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    yield server
    server.stop()


def _unpriced_total(served: GatewayServer) -> float:
    text = get(served, "/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "batchgate_unpriced_batches_total"
    )


def _run(served: GatewayServer, tenant: str, data: bytes, status: str) -> dict[str, object]:
    with openai.OpenAI(base_url=served.base_url, api_key=TENANT_KEYS[tenant], max_retries=0) as sdk:
        upload = sdk.files.create(file=("in.jsonl", data), purpose="batch")
        batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert wait_for(sdk, batch.id, {"completed", "failed"}).status == status
    return settled_record(served, batch.id, tenant)


def test_refused_batches_are_priced_and_an_unpriced_model_is_counted(budgeted: GatewayServer) -> None:
    invalid = _run(budgeted, "alpha", b'{"custom_id": "a"}\n' + jsonl([line("b")]), "failed")
    over_budget = _run(budgeted, "beta", jsonl([line("c")]), "failed")
    for record in (invalid, over_budget):
        assert record["priced"] is True
        assert Decimal(str(record["batch_cost_usd"])) == 0
    assert _unpriced_total(budgeted) == 0

    # The counter still works: a routed batch whose model has no price is counted once.
    unpriced = _run(budgeted, "alpha", jsonl([line("d", model=UNPRICED_MODEL)]), "completed")
    assert unpriced["priced"] is False
    assert _unpriced_total(budgeted) == 1
