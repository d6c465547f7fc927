"""Secrets never leave: a full workflow through `batchgate serve` (its own process, debug JSON logs), then every
byte it produced — its log, every response body, /metrics, every result file, storage and Redis — is searched
for the provider keys and the tenant keys (whole, and their random tails, to catch masked echoes too)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import pytest
import redis
import structlog

from gateway.ops.logs import configure_logging
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.workflow import jsonl, line


def _key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


KEYS = {
    "SECRETS_DEEPSEEK_KEY": _key("sk-ds"),
    "SECRETS_DENIED_KEY": _key("sk-denied"),  # the upstream expects another key: provider_auth_failed
    "SECRETS_LOCAL_KEY": _key("sk-local"),
}
PLAIN_KEY, HASHED_KEY, WRONG_KEY = _key("sk-plain"), _key("sk-hashed"), _key("sk-wrong")
HASHED_DIGEST = hashlib.sha256(HASHED_KEY.encode()).hexdigest()
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def _needles() -> list[str]:
    keys = [*KEYS.values(), PLAIN_KEY, HASHED_KEY, WRONG_KEY]
    return [*keys, *(key.rsplit("-", 1)[1][-10:] for key in keys), HASHED_DIGEST]


def _config(data_dir: Path, port: int, redis_url: str, deepseek: str, denied: str, local: str) -> str:
    prices = 'input_usd_per_mtok = "0.28"\noutput_usd_per_mtok = "0.42"'
    fast = "poll_interval_seconds = 0.2"
    return f"""
data_dir = "{data_dir}"
[server]
port = {port}
[redis]
url = "{redis_url}"
[batches]
lease_seconds = 2.0
[[tenants]]
name = "plain"
api_keys = ["{PLAIN_KEY}"]
[[tenants]]
name = "hashed"
api_key_sha256 = ["{HASHED_DIGEST}"]
[providers.deepseek]
kind = "openai_batch"
base_url = "{deepseek}"
api_key_env = "SECRETS_DEEPSEEK_KEY"
batch_discount = "0.5"
{fast}
[providers.denied]
kind = "openai_batch"
base_url = "{denied}"
api_key_env = "SECRETS_DENIED_KEY"
batch_discount = "0.5"
{fast}
[providers.local]
kind = "native"
base_url = "{local}"
api_key_env = "SECRETS_LOCAL_KEY"
batch_discount = "0"
{fast}
[[models]]
name = "deepseek-chat"
provider = "deepseek"
{prices}
[[models]]
name = "denied-model"
provider = "denied"
{prices}
[[models]]
name = "local-model"
provider = "local"
upstream_model = "tiny"
{prices}
"""


@dataclass
class Served:
    root: str
    log_path: Path
    data_dir: Path
    http: httpx.Client
    realtime: RealtimeUpstream
    deepseek: BatchUpstream
    seen: list[str] = field(default_factory=list)  # every response body, headers included

    def call(self, key: str | None, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        response = self.http.request(method, self.root + path, headers=headers, **kwargs)  # type: ignore[arg-type]
        self.seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return response


@pytest.fixture
def served(redis_url: str, tmp_path: Path) -> Iterator[Served]:
    deepseek = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key=KEYS["SECRETS_DEEPSEEK_KEY"]))
    denied = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key="sk-not-what-the-gateway-sends"))
    realtime = RealtimeUpstream().start()
    deepseek.start()
    denied.start()
    port = free_port()
    config = tmp_path / "batchgate.toml"
    config.write_text(
        _config(tmp_path / "data", port, redis_url, deepseek.base_url, denied.base_url, realtime.base_url)
    )
    args = ["serve", "--config", str(config), "--log-level", "debug"]
    process = BatchgateProcess(args, tmp_path / "serve.log", env=KEYS).start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/readyz")
        with httpx.Client(timeout=30) as http:
            yield Served(f"http://127.0.0.1:{port}", process.log_path, tmp_path / "data", http, realtime, deepseek)
    finally:
        process.terminate()
        realtime.stop()
        deepseek.stop()
        denied.stop()


def _run(served: Served, key: str, lines: list[dict[str, object]]) -> dict[str, object]:
    files = {"file": ("in.jsonl", jsonl(lines)), "purpose": (None, "batch")}
    file_id = served.call(key, "POST", "/v1/files", files=files).json()["id"]
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch_id = served.call(key, "POST", "/v1/batches", json=body).json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        batch: dict[str, object] = served.call(key, "GET", f"/v1/batches/{batch_id}").json()
        if batch["status"] in TERMINAL:
            for name in ("output_file_id", "error_file_id"):
                if batch[name]:
                    served.call(key, "GET", f"/v1/files/{batch[name]}/content")
            served.call(key, "GET", f"/v1/accounting/batches/{batch_id}")
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish")


def _provoke_errors(served: Served) -> None:
    served.call(PLAIN_KEY, "GET", "/v1/files/file-nope")
    served.call(HASHED_KEY, "POST", "/v1/batches", json={"input_file_id": "file-nope"})
    served.call(HASHED_KEY, "POST", "/v1/batches", content=b"{not json", headers={"content-type": "application/json"})
    served.call(PLAIN_KEY, "GET", "/v1/batches", params={"limit": 0})
    served.call(PLAIN_KEY, "POST", "/v1/files", content=b"junk", headers={"content-type": "multipart/form-data"})


def _redis_text(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    parts = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            parts.append(repr(client.get(key)))
        elif kind == b"hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == b"stream":
            parts.append(repr(client.xrange(key)))
        elif kind == b"set":
            parts.append(repr(client.smembers(key)))
        elif kind == b"zset":
            parts.append(repr(client.zrange(key, 0, -1)))
        elif kind == b"list":
            parts.append(repr(client.lrange(key, 0, -1)))
    client.close()
    return "\n".join(parts)


def test_no_key_appears_in_logs_bodies_metrics_results_storage_or_redis(served: Served, redis_url: str) -> None:
    plain = _run(served, PLAIN_KEY, [line(f"ds-{i}", model="deepseek-chat") for i in range(3)])
    served.realtime.faults["hello n-1"] = ["400"]  # one upstream 4xx line, for the error file
    hashed = _run(served, HASHED_KEY, [line(f"n-{i}", model="local-model") for i in range(3)])
    denied = _run(served, PLAIN_KEY, [line("d-1", model="denied-model")])
    assert (plain["status"], hashed["status"], denied["status"]) == ("completed", "completed", "failed")
    assert hashed["error_file_id"] is not None
    assert json.dumps(denied["errors"]).count("provider_auth_failed") == 1
    assert "SECRETS_DENIED_KEY" in json.dumps(denied["errors"])  # it names the variable, never the value
    # The keys were really in play: each upstream got its own, so a leak would have had something to leak.
    assert set(served.deepseek.recorder.authorizations) == {f"Bearer {KEYS['SECRETS_DEEPSEEK_KEY']}"}
    assert {r.headers["authorization"] for r in served.realtime.requests} == {f"Bearer {KEYS['SECRETS_LOCAL_KEY']}"}
    _provoke_errors(served)
    for key in (None, WRONG_KEY, PLAIN_KEY + "x", "x" + HASHED_KEY):
        refused = served.call(key, "GET", "/v1/files")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
    served.call(None, "GET", "/metrics")

    log = served.log_path.read_text()
    assert '"event": "request"' in log  # the log was captured, as JSON lines, at debug level
    stored = "\n".join(p.read_text(errors="replace") for p in served.data_dir.rglob("*") if p.is_file())
    haystacks = {"log": log, "responses": "\n".join(served.seen), "storage": stored, "redis": _redis_text(redis_url)}
    for custom_id in ("ds-0", "n-0", "n-1"):  # the output and error files were read
        assert re.search(rf'"custom_id": ?"{custom_id}"', haystacks["responses"]), custom_id
    leaks = [(name, needle) for name, text in haystacks.items() for needle in _needles() if needle in text]
    assert leaks == []


@pytest.mark.parametrize("as_json", [True, False])
def test_logged_tracebacks_carry_no_local_variables(as_json: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """A guard: structlog's rich traceback formatter (its default with colours) prints every frame's locals, so a
    bearer key in scope would leak; our console renderer is pinned to plain tracebacks, JSON has no locals."""
    saved = structlog.get_config()
    try:
        configure_logging("info", json=as_json)
        authorization = f"Bearer {PLAIN_KEY}"
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("test").exception("unhandled_error", header_count=len(authorization))
        output = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        structlog.configure(**saved)
    assert "RuntimeError: boom" in output
    assert PLAIN_KEY not in output
