"""Hostile JSON against `batchgate serve` as a process, from the outside: every route that takes a body or
parameters gets nesting bombs, huge numbers, lone surrogates and duplicate keys (`hostile_json.py`).

Invariants: no answer is a 5xx; every error is OpenAI's envelope with a request id; the server logs no
unhandled error; and input files carrying such lines fail their batch with a line-numbered error instead of
staying `validating`. The default suite runs a short slice; `make fuzz` runs FUZZ_INPUTS (default 12,000)
and prints the answers per route. FUZZ_SEED picks the sequence (default: 17).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config.settings import load_settings
from tests.conftest import TENANT_KEYS
from tests.fuzz.hostile_json import Attack, hostile_file, hostile_requests
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess, base_config
from tests.support.redis_server import RedisServer

ROUTE_CONFIG = """
[providers.local]
kind = "native"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "UNUSED_FUZZ_KEY"

[[models]]
name = "m"
provider = "local"
input_usd_per_mtok = "1"
output_usd_per_mtok = "1"
"""


class Served:
    def __init__(self, client: httpx.Client, log: Path | None) -> None:
        self.client = client
        self.log = log  # the process's log, searched for unhandled errors (None: a gateway in this process)


def _config(root: Path, redis_url: str) -> Path:
    config = root / "batchgate.toml"
    config.write_text(base_config(root / "data", redis_url, admin=True) + ROUTE_CONFIG)
    return config


def _client(root_url: str) -> httpx.Client:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    return httpx.Client(base_url=root_url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def in_process(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The default suite's gateway (same app and worker over real loopback HTTP, without a process start-up)."""
    settings = load_settings(_config(tmp_path_factory.mktemp("hostile"), redis_server.url), environ={})
    server = GatewayServer(settings, run_worker=True)
    server.start()
    with _client(server.root_url) as client:
        yield Served(client, None)
    server.stop()


@pytest.fixture(scope="module")
def as_process(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`batchgate serve` as a process, attacked from the outside (the long run)."""
    root = tmp_path_factory.mktemp("hostile-process")
    port = free_port()
    log = root / "serve.log"
    process = BatchgateProcess(["serve", "--config", str(_config(root, redis_server.url)), "--port", str(port)], log)
    process.start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        with _client(f"http://127.0.0.1:{port}") as client:
            yield Served(client, log)
    finally:
        process.stop()


def _send(served: Served, attack: Attack) -> httpx.Response:
    headers = {"content-type": attack.content_type} if attack.content_type else {}
    request = served.client.build_request(attack.method, "/", content=attack.body, headers=headers)
    request.url = request.url.copy_with(raw_path=attack.path.encode("ascii"))  # sent exactly as built
    return served.client.send(request)


def _check(response: httpx.Response, attack: Attack) -> None:
    assert response.status_code < 500, f"{attack.route}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("x-request-id"), attack.route
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, attack.route
        assert isinstance(error["message"], str), attack.route


def _attack(served: Served, count: int, seed: int) -> Counter[tuple[str, int]]:
    answers: Counter[tuple[str, int]] = Counter()
    rng = random.Random(seed)
    file_ids = [_upload(served, hostile_file(rng)) for _ in range(5)]
    attacks = hostile_requests(rng, file_ids)
    for _ in range(count):
        attack = next(attacks)
        response = _send(served, attack)
        _check(response, attack)
        answers[(attack.route, response.status_code)] += 1
    if served.log is not None:
        log = served.log.read_text(errors="replace")
        assert "unhandled_error" not in log
        assert "Traceback" not in log
    return answers


def _report(answers: Counter[tuple[str, int]], seconds: float) -> str:
    routes = sorted({route for route, _ in answers})
    statuses = sorted({status for _, status in answers})
    rows = [f"{'route':<40}" + "".join(f"{status:>7}" for status in statuses) + f"{'total':>8}"]
    for route in routes:
        counts = [answers[(route, status)] for status in statuses]
        rows.append(f"{route:<40}" + "".join(f"{count:>7}" for count in counts) + f"{sum(counts):>8}")
    total = sum(answers.values())
    rows.append(
        f"{total} inputs in {seconds:.1f} s; answers >= 500: {sum(n for (_, s), n in answers.items() if s >= 500)}"
    )
    return "\n".join(rows)


def test_a_short_slice_of_hostile_requests(in_process: Served) -> None:
    answers = _attack(in_process, 300, seed=int(os.environ.get("FUZZ_SEED", "17")))
    assert len({route for route, _ in answers}) >= 10  # every kind of route was hit


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_hostile_requests_long(as_process: Served) -> None:
    count = int(os.environ.get("FUZZ_INPUTS", "12000"))
    started = time.monotonic()
    answers = _attack(as_process, count, seed=int(os.environ.get("FUZZ_SEED", "17")))
    print("\n" + _report(answers, time.monotonic() - started))
    assert sum(answers.values()) == count


def _upload(served: Served, data: bytes) -> str:
    files = {"file": ("in.jsonl", data), "purpose": (None, "batch")}
    response = served.client.post("/v1/files", files=files)
    assert response.status_code == 200, response.text
    file_id: str = response.json()["id"]
    return file_id


def _line(custom_id: str, extra: bytes = b"") -> bytes:
    body = b'{"model":"m","messages":[{"role":"user","content":"hi"}]' + extra + b"}"
    return (
        b'{"custom_id":"'
        + custom_id.encode()
        + b'","method":"POST","url":"/v1/chat/completions","body":'
        + body
        + b"}\n"
    )


def test_hostile_input_lines_fail_their_batch_with_line_numbers(in_process: Served) -> None:
    served = in_process
    """The worker's side: each file fails its batch (never stuck `validating`), naming the bad line."""
    bomb = b',"x":' + b"[" * 20_000 + b"]" * 20_000
    files = {
        "nesting_too_deep": _line("a") + _line("b", bomb) + _line("c"),
        "nesting_too_deep on line 1": _line("a", bomb) + _line("b"),  # create reads the first line's model
        "invalid_json_line": _line("a") + _line("b", rb',"x":"\ud800"') + _line("c"),
        "invalid_value": _line("a") + _line("b", b',"max_tokens":' + b"9" * 400) + _line("c"),
    }
    batches = {}
    for code, data in files.items():
        body = {"input_file_id": _upload(served, data), "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        created = served.client.post("/v1/batches", json=body)
        assert created.status_code == 200, created.text
        batches[code] = created.json()["id"]
    deadline = time.monotonic() + 60
    for code, batch_id in batches.items():
        while (batch := served.client.get(f"/v1/batches/{batch_id}").json())["status"] == "validating":
            assert time.monotonic() < deadline, f"{code}: batch {batch_id} stayed validating"
            time.sleep(0.1)
        assert batch["status"] == "failed", code
        expected = (code.split()[0], 1 if code.endswith("line 1") else 2)
        assert [(error["code"], error["line"]) for error in batch["errors"]["data"]] == [expected]
