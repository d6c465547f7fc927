"""Tenant isolation (OWASP API1, BOLA): another tenant's ids answer exactly as unknown ids do.

One gateway and one small world per module: tenant alpha (an accounting admin) owns a finished batch with an
output and an error file, a settled ledger record and a batch still running; beta owns one finished batch.
Every route that takes an object id is called with the victim's id and with a fresh unknown id of the same
shape: same status, same body once the id is swapped, and response times in the same class.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.config.settings import ModelRoute, RedisSettings, Settings, Tenant, default_settings
from gateway.core.ids import new_batch_id, new_file_id
from gateway.storage.local import LocalStorage
from gateway.worker.providers import ProviderSet
from providers.config import NativeSettings
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.redis_server import RedisServer
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import MODEL, jsonl, line

SAMPLES = 30
TIMING_FACTOR = 3.0  # generous: both answers are one Redis read and a 404; a real leak (storage I/O) is 10x


@dataclass
class World:
    server: GatewayServer
    http: httpx.Client
    ids: dict[str, str]  # what alpha and beta own, by role

    def call(self, tenant: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {TENANT_KEYS[tenant]}"}
        return self.http.request(method, f"{self.server.root_url}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def _settings(redis_url: str, data_dir: Path) -> Settings:
    tenants = [
        Tenant(name="alpha", api_keys=[TENANT_KEYS["alpha"]], admin=True),
        Tenant(name="beta", api_keys=[TENANT_KEYS["beta"]]),
    ]
    provider = NativeSettings(base_url="http://127.0.0.1:9/v1", batch_discount=Decimal("0.5"))
    price = Decimal("1")
    route = ModelRoute(name=MODEL, provider="scripted", input_usd_per_mtok=price, output_usd_per_mtok=price)
    return msgspec.structs.replace(
        default_settings(),
        data_dir=str(data_dir),
        redis=RedisSettings(url=redis_url),
        tenants=tenants,
        providers={"scripted": provider},
        models=[route],
        batches=msgspec.structs.replace(default_settings().batches, lease_seconds=2.0),
    )


def _until(world: World, tenant: str, path: str, done: Callable[[dict[str, object]], bool]) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body: dict[str, object] = world.call(tenant, "GET", path).json()
        if done(body):
            return body
        time.sleep(0.03)
    raise AssertionError(f"{path} never reached the wanted state")


def _run(world: World, tenant: str, custom_ids: list[str]) -> tuple[str, dict[str, object]]:
    files = {"file": ("in.jsonl", jsonl([line(i) for i in custom_ids])), "purpose": (None, "batch")}
    file_id = world.call(tenant, "POST", "/v1/files", files=files).json()["id"]
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch_id = world.call(tenant, "POST", "/v1/batches", json=body).json()["id"]
    return file_id, _until(world, tenant, f"/v1/batches/{batch_id}", lambda b: b["status"] == "completed")


@pytest.fixture(scope="module")
def world(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    redis_server.flush()
    settings = _settings(redis_server.url, tmp_path_factory.mktemp("isolation"))
    scripted = ScriptedProvider("scripted", LocalStorage(settings.storage_dir))
    server = GatewayServer(settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    with httpx.Client(timeout=10) as http:
        world = World(server, http, {})
        input_id, done = _run(world, "alpha", ["ok-1", "fail-1", "ok-2"])
        _until(world, "alpha", f"/v1/accounting/batches/{done['id']}", lambda r: r["settled_at"] is not None)
        beta_input, beta_done = _run(world, "beta", ["b-1"])
        scripted.hold = True  # alpha's next batch stays in_progress: a live target for cancel
        running_input, running = _run_held(world)
        world.ids = {
            "alpha_input": input_id,
            "alpha_output": str(done["output_file_id"]),
            "alpha_errors": str(done["error_file_id"]),
            "alpha_batch": str(done["id"]),
            "alpha_running": running,
            "alpha_running_input": running_input,
            "beta_input": beta_input,
            "beta_output": str(beta_done["output_file_id"]),
            "beta_batch": str(beta_done["id"]),
        }
        yield world
    server.stop()


def _run_held(world: World) -> tuple[str, str]:
    files = {"file": ("run.jsonl", jsonl([line("r-1")])), "purpose": (None, "batch")}
    file_id = world.call("alpha", "POST", "/v1/files", files=files).json()["id"]
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch_id = world.call("alpha", "POST", "/v1/batches", json=body).json()["id"]
    _until(world, "alpha", f"/v1/batches/{batch_id}", lambda b: b["status"] == "in_progress")
    return file_id, batch_id


# (method, path template, attacker, victim id role). Alpha is an accounting admin, so for accounting only
# beta attacks; for files and batches, admin rights do not apply and alpha is refused beta's objects too.
ID_ROUTES = [
    ("GET", "/v1/files/{}", "beta", "alpha_input"),
    ("GET", "/v1/files/{}", "beta", "alpha_output"),
    ("GET", "/v1/files/{}/content", "beta", "alpha_input"),
    ("GET", "/v1/files/{}/content", "beta", "alpha_output"),
    ("GET", "/v1/files/{}/content", "beta", "alpha_errors"),
    ("GET", "/v1/files/{}/content", "alpha", "beta_output"),
    ("DELETE", "/v1/files/{}", "beta", "alpha_output"),
    ("DELETE", "/v1/files/{}", "beta", "alpha_running_input"),
    ("GET", "/v1/batches/{}", "beta", "alpha_batch"),
    ("GET", "/v1/batches/{}", "alpha", "beta_batch"),
    ("POST", "/v1/batches/{}/cancel", "beta", "alpha_running"),
    ("POST", "/v1/batches/{}/cancel", "beta", "alpha_batch"),
    ("GET", "/v1/accounting/batches/{}", "beta", "alpha_batch"),
    ("GET", "/v1/accounting/batches/{}", "beta", "alpha_running"),
]


def _unknown_like(victim: str) -> str:
    return new_file_id() if victim.startswith("file-") else new_batch_id()


def _timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


@pytest.mark.parametrize(("method", "template", "attacker", "role"), ID_ROUTES)
def test_another_tenants_id_answers_as_an_unknown_id(
    world: World, method: str, template: str, attacker: str, role: str
) -> None:
    victim = world.ids[role]
    unknown = _unknown_like(victim)
    hidden = world.call(attacker, method, template.format(victim))
    missing = world.call(attacker, method, template.format(unknown))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == msgspec.json.decode(missing.text.replace(unknown, victim).encode())
    assert set(hidden.headers) - {"x-request-id", "date"} == set(missing.headers) - {"x-request-id", "date"}
    victim_times, unknown_times = [], []
    for _ in range(SAMPLES):  # interleaved, so drift in machine load hits both series alike
        victim_times.append(_timed(lambda: world.call(attacker, method, template.format(victim))))
        unknown_times.append(_timed(lambda: world.call(attacker, method, template.format(unknown))))
    victim_median, unknown_median = statistics.median(victim_times), statistics.median(unknown_times)
    ratio = victim_median / unknown_median
    figures = f"{victim_median * 1e3:.2f} ms vs {unknown_median * 1e3:.2f} ms = {ratio:.2f}"
    print(f"timing {method} {template} {role}: {figures}")
    assert 1 / TIMING_FACTOR < ratio < TIMING_FACTOR
    _assert_victim_untouched(world, role)


def _assert_victim_untouched(world: World, role: str) -> None:
    owner = role.split("_", 1)[0]
    victim = world.ids[role]
    path = f"/v1/files/{victim}" if victim.startswith("file-") else f"/v1/batches/{victim}"
    assert world.call(owner, "GET", path).status_code == 200
    if role == "alpha_running":
        assert world.call("alpha", "GET", path).json()["status"] == "in_progress"
    if victim.startswith("file-"):
        assert world.call(owner, "GET", f"{path}/content").status_code == 200


def test_batch_from_another_tenants_file_answers_as_an_unknown_file(world: World) -> None:
    victim = world.ids["alpha_input"]
    unknown = new_file_id()
    body = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}
    hidden = world.call("beta", "POST", "/v1/batches", json={**body, "input_file_id": victim})
    missing = world.call("beta", "POST", "/v1/batches", json={**body, "input_file_id": unknown})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == msgspec.json.decode(missing.text.replace(unknown, victim).encode())
    assert [b["id"] for b in world.call("beta", "GET", "/v1/batches").json()["data"]] == [world.ids["beta_batch"]]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/files", {}),
        ("/v1/files", {"purpose": "batch"}),
        ("/v1/files", {"purpose": "batch_output"}),
        ("/v1/files", {"order": "asc", "limit": 1}),
        ("/v1/batches", {}),
        ("/v1/batches", {"after": "batch_zzzzzzzzzzzzzzzzzzzzzzzzzz"}),
        ("/v1/accounting/batches", {}),
        ("/v1/accounting/batches", {"format": "csv"}),
        ("/v1/accounting/summary", {"group_by": "tenant,provider,model"}),
        ("/v1/accounting/summary", {}),
    ],
)
def test_lists_never_show_another_tenants_objects(world: World, path: str, params: dict[str, object]) -> None:
    response = world.call("beta", "GET", path, params=params)
    assert response.status_code == 200
    alpha_ids = [value for role, value in world.ids.items() if role.startswith("alpha")]
    assert not [item for item in alpha_ids if item in response.text]
    assert "alpha" not in response.text
    if path == "/v1/accounting/summary":  # beta's one batch, nothing of alpha's summed in
        assert [row["batches"] for row in response.json()["data"]] == [1]


def test_lists_show_the_owners_objects(world: World) -> None:
    """The positive control for the list test: alpha does see its own objects (and beta's in accounting)."""
    files = world.call("alpha", "GET", "/v1/files").text
    assert all(world.ids[role] in files for role in ("alpha_input", "alpha_output", "alpha_errors"))
    assert world.ids["beta_input"] not in files
    batches = world.call("alpha", "GET", "/v1/batches").text
    assert world.ids["alpha_batch"] in batches
    assert world.ids["beta_batch"] not in batches
    accounting = world.call("alpha", "GET", "/v1/accounting/batches").text
    assert world.ids["alpha_batch"] in accounting
    assert world.ids["beta_batch"] in accounting
