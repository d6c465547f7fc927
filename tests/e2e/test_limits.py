"""Resource limits (OWASP API4): each enforced early, with the right status, leaving nothing behind.

Sizes and shapes (413/400), validation limits (failed batches with their codes), per-tenant admission
limits (`[limits]`: concurrent uploads and batches in flight, 429 with Retry-After) and a small fuzz
proving bad input never earns a 500.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from gateway.config.settings import LimitsSettings, Settings
from gateway.files import lua
from gateway.files.leases import UploadSlots
from gateway.redis import keys
from gateway.worker.providers import ProviderSet
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.schemas import assert_matches
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import chunked_upload_head, jsonl, line

UPLOADS, IN_FLIGHT = 2, 3
CREATE = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}


class Limited:
    """The gateway under test with one keep-alive client (a fresh httpx client per call costs ~100 ms)."""

    def __init__(self, server: GatewayServer, http: httpx.Client) -> None:
        self.server = server
        self.http = http
        self.root_url = server.root_url
        self.port = server.port
        self.settings = server.settings


@pytest.fixture
def limited(scripted_settings: Settings, scripted: ScriptedProvider) -> Iterator[Limited]:
    limits = LimitsSettings(max_concurrent_uploads_per_tenant=UPLOADS, max_batches_in_flight_per_tenant=IN_FLIGHT)
    settings = msgspec.structs.replace(scripted_settings, limits=limits)
    server = GatewayServer(settings, run_worker=True, providers=ProviderSet({"scripted": scripted}))
    server.start()
    with httpx.Client(timeout=30) as http:
        yield Limited(server, http)
    server.stop()


def call(server: Limited, method: str, path: str, tenant: str = "alpha", **kwargs: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {TENANT_KEYS[tenant]}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return server.http.request(method, server.root_url + path, headers=headers, **kwargs)  # type: ignore[arg-type]


def upload(server: Limited, data: bytes, tenant: str = "alpha") -> httpx.Response:
    return call(server, "POST", "/v1/files", tenant, files={"file": ("in.jsonl", data), "purpose": (None, "batch")})


def assert_error(response: httpx.Response, status: int, param: str | None = None, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert_matches("ErrorResponse", response.json())
    if param is not None:
        assert response.json()["error"]["param"] == param
    if code is not None:
        assert response.json()["error"]["code"] == code


def storage_files(server: Limited) -> list[Path]:
    return sorted(path for path in server.settings.storage_dir.rglob("*") if path.is_file())


def nothing_stored(server: Limited) -> None:
    assert storage_files(server) == []
    assert call(server, "GET", "/v1/files").json()["data"] == []
    assert call(server, "GET", "/v1/batches").json()["data"] == []


# --- sizes and shapes -------------------------------------------------------------------------------------


def test_create_body_over_64_kib_is_413_and_creates_nothing(limited: Limited) -> None:
    file_id = upload(limited, jsonl([line("a")])).json()["id"]
    padding = {f"k{i}": "v" * 500 for i in range(140)}  # ~70 KiB of (also invalid) metadata
    response = call(limited, "POST", "/v1/batches", json={**CREATE, "input_file_id": file_id, "metadata": padding})
    assert_error(response, 413)
    absurd = call(limited, "POST", "/v1/batches", content=b"[" * 70_000, headers={"content-type": "application/json"})
    assert_error(absurd, 413)
    assert call(limited, "GET", "/v1/batches").json()["data"] == []


BAD_METADATA: list[object] = [
    {f"k{i}": "v" for i in range(17)},
    {"k" * 65: "v"},
    {"k": "v" * 513},
    {"k": 1},
    ["not", "an", "object"],
]


def test_metadata_limits_are_400(limited: Limited) -> None:
    file_id = upload(limited, jsonl([line("a")])).json()["id"]
    for metadata in BAD_METADATA:
        response = call(limited, "POST", "/v1/batches", json={**CREATE, "input_file_id": file_id, "metadata": metadata})
        assert_error(response, 400)
        assert response.json()["error"]["param"].startswith("metadata"), metadata
    assert call(limited, "GET", "/v1/batches").json()["data"] == []


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--b\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return body + b"--b--\r\n"


BAD_FORMS: list[tuple[list[tuple[str, str | None, bytes]], str | None]] = [
    ([("purpose", None, b"batch")] * 9, None),  # more parts than the parser accepts
    ([("purpose", None, b"batch" * 300), ("file", "in.jsonl", b"{}\n")], "purpose"),  # a field over 1 KiB
    ([("purpose", None, b"batch"), ("file", "in.jsonl", b"{}\n"), ("colour", None, b"red")], "colour"),
    ([("purpose", None, b"batch"), ("purpose", None, b"batch"), ("file", "in.jsonl", b"{}\n")], "purpose"),
    ([("purpose", None, b"\xff\xfe"), ("file", "in.jsonl", b"{}\n")], "purpose"),
]


def test_multipart_shape_limits_are_400_and_store_nothing(limited: Limited) -> None:
    headers = {"content-type": "multipart/form-data; boundary=b"}
    for parts, param in BAD_FORMS:
        response = call(limited, "POST", "/v1/files", content=multipart(parts), headers=headers)
        assert_error(response, 400, param)
    nothing_stored(limited)


BAD_QUERIES: list[tuple[str, dict[str, object], str]] = [
    ("/v1/files", {"limit": 10_001}, "limit"),
    ("/v1/files", {"after": "f" * 129}, "after"),
    ("/v1/files", {"purpose": "p" * 65}, "purpose"),
    ("/v1/batches", {"limit": 0}, "limit"),
    ("/v1/batches", {"limit": 101}, "limit"),
    ("/v1/batches", {"after": "b" * 129}, "after"),
    ("/v1/batches", {"limit": "1e9"}, "limit"),
    ("/v1/accounting/batches", {"limit": 1001}, "limit"),
    ("/v1/accounting/batches", {"after": "b" * 10_000}, "after"),
    ("/v1/accounting/batches", {"since": -1}, "since"),
    ("/v1/accounting/batches", {"format": "xml"}, "format"),
    ("/v1/accounting/summary", {"group_by": "tenant,tenant"}, "group_by"),
    ("/v1/accounting/summary", {"until": "yesterday"}, "until"),
]


def test_query_limits_are_400(limited: Limited) -> None:
    for path, params, param in BAD_QUERIES:
        assert_error(call(limited, "GET", path, params=params), 400, param)


def test_a_cursor_of_any_sane_length_is_fine(limited: Limited) -> None:
    for path in ("/v1/files", "/v1/batches", "/v1/accounting/batches"):
        assert call(limited, "GET", path, params={"after": "x" * 128}).status_code == 200


# --- validation limits: the batch fails with the code, never a create-time error ---------------------------


def _failed_codes(server: Limited, data: bytes) -> list[str]:
    file_id = upload(server, data).json()["id"]
    batch_id = call(server, "POST", "/v1/batches", json={**CREATE, "input_file_id": file_id}).json()["id"]
    for _ in range(600):
        batch = call(server, "GET", f"/v1/batches/{batch_id}").json()
        if batch["status"] not in ("validating", "in_progress", "finalizing"):
            assert batch["status"] == "failed"
            return [error["code"] for error in batch["errors"]["data"]]
        time.sleep(0.05)
    raise AssertionError("the batch did not finish")


def test_too_many_lines_fails_the_batch(limited: Limited) -> None:
    one = jsonl([line("x")]).replace(b'"x"', b'"%d"')
    data = b"".join(one % i for i in range(50_001))
    assert "too_many_tasks" in _failed_codes(limited, data)


def test_a_line_over_32_mib_fails_the_batch(limited: Limited) -> None:
    long_line = json.dumps(line("long")).encode().replace(b"hello long", b"x" * (32 * 1024 * 1024)) + b"\n"
    data = jsonl([line("a")]) + long_line + jsonl([line("b")])
    assert _failed_codes(limited, data) == ["line_too_long"]


# --- per-tenant admission: concurrent uploads --------------------------------------------------------------


async def _start_held_upload(server: Limited, tenant: str) -> asyncio.StreamWriter:
    """An upload that sends its head and the start of its file, then stalls (holding its slot)."""
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    http_head, head = chunked_upload_head(tenant, "slow.jsonl")
    writer.write(http_head)
    head += jsonl([line("a")])
    writer.write(f"{len(head):x}\r\n".encode() + head + b"\r\n")
    await writer.drain()
    return writer


async def _leases(redis: aioredis.Redis, tenant: str, want: int) -> None:
    for _ in range(200):
        if await redis.zcard(keys.upload_leases(tenant)) == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{tenant} never held {want} upload leases")


async def test_concurrent_uploads_per_tenant_answer_429_with_retry_after(
    limited: Limited, redis_client: aioredis.Redis
) -> None:
    held = [await _start_held_upload(limited, "alpha") for _ in range(UPLOADS)]
    await _leases(redis_client, "alpha", UPLOADS)
    refused = await asyncio.to_thread(upload, limited, jsonl([line("x")]))
    assert_error(refused, 429, code="too_many_concurrent_uploads")
    assert int(refused.headers["retry-after"]) >= 1
    assert (await asyncio.to_thread(upload, limited, jsonl([line("y")]), "beta")).status_code == 200  # per tenant
    for writer in held:  # the clients vanish mid-upload: their slots and partial files must go too
        writer.close()
    await _leases(redis_client, "alpha", 0)
    metrics = limited.http.get(limited.root_url + "/metrics").text
    assert 'status="499"' in metrics  # a vanished client is counted as such, never as a server error
    assert 'status="5' not in metrics
    assert (await asyncio.to_thread(upload, limited, jsonl([line("z")]))).status_code == 200
    alpha_files = call(limited, "GET", "/v1/files").json()["data"]
    assert [item["filename"] for item in alpha_files] == ["in.jsonl"]
    assert len(storage_files(limited)) == 2  # alpha's and beta's: no partial upload left behind


async def test_a_crashed_uploads_lease_runs_out(limited: Limited, redis_client: aioredis.Redis) -> None:
    """Leases taken by a process that then died (never renewed, never released) free their slots on expiry."""
    for _ in range(UPLOADS):  # what a crashed replica's `UploadSlots.hold` leaves behind: leases of 0.4 s
        await lua.ACQUIRE_SLOT(redis_client, keys=[keys.upload_leases("alpha")], args=[UPLOADS, f"dead-{_}", 400])
    assert (await asyncio.to_thread(upload, limited, jsonl([line("x")]))).status_code == 429
    await asyncio.sleep(0.5)
    assert (await asyncio.to_thread(upload, limited, jsonl([line("x")]))).status_code == 200
    assert await redis_client.zcard(keys.upload_leases("alpha")) == 0


async def test_a_live_lease_is_renewed_past_its_ttl(redis_client: aioredis.Redis) -> None:
    slots = UploadSlots(redis_client, 1, lease_seconds=0.3)
    async with slots.hold("alpha") as held:
        assert held
        await asyncio.sleep(1.0)  # over three TTLs: only renewal keeps it
        async with slots.hold("alpha") as second:
            assert not second
    assert await redis_client.exists(keys.upload_leases("alpha")) == 0


# --- per-tenant admission: batches in flight ---------------------------------------------------------------


async def _create_many(server: Limited, tenant: str, file_id: str, count: int) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {TENANT_KEYS[tenant]}"}
    async with httpx.AsyncClient(base_url=server.root_url, headers=headers, timeout=30) as http:
        body = {**CREATE, "input_file_id": file_id}
        return await asyncio.gather(*(http.post("/v1/batches", json=body) for _ in range(count)))


async def test_batches_in_flight_are_capped_exactly_under_concurrency(
    limited: Limited, scripted: ScriptedProvider
) -> None:
    scripted.hold = True
    file_id = (await asyncio.to_thread(upload, limited, jsonl([line("a")]))).json()["id"]
    answers = await _create_many(limited, "alpha", file_id, 12)
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [200] * IN_FLIGHT + [429] * (12 - IN_FLIGHT)
    refused = next(response for response in answers if response.status_code == 429)
    assert_error(refused, 429, code="too_many_batches_in_flight")
    assert int(refused.headers["retry-after"]) >= 1
    listed = call(limited, "GET", "/v1/batches").json()["data"]
    assert len(listed) == IN_FLIGHT
    beta_file = (await asyncio.to_thread(upload, limited, jsonl([line("b")]), "beta")).json()["id"]
    assert [r.status_code for r in await _create_many(limited, "beta", beta_file, 1)] == [200]  # per tenant

    cancelled = call(limited, "POST", f"/v1/batches/{listed[0]['id']}/cancel").json()
    for _ in range(200):  # a running batch passes through cancelling; its slot frees once it is terminal
        if cancelled["status"] == "cancelled":
            break
        await asyncio.sleep(0.05)
        cancelled = call(limited, "GET", f"/v1/batches/{listed[0]['id']}").json()
    assert cancelled["status"] == "cancelled"
    again = await _create_many(limited, "alpha", file_id, 3)
    assert sorted(response.status_code for response in again) == [200, 429, 429]


# --- a little fuzz: bad input never earns a 500 ------------------------------------------------------------

_JUNK: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"1e999999",
    b"\xff\xfe\x00",
    b'{"input_file_id": null, "endpoint": 1, "completion_window": []}',
    b'{"input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": 1}',
    b'{"input_file_id": "' + b"f" * 60_000 + b'", "endpoint": "/v1/chat/completions", "completion_window": "24h"}',
    b'{"input_file_id": "\\u0000", "endpoint": "/v1/chat/completions", "completion_window": "24h"}',
    b'{"output_expires_after": {"anchor": "created_at", "seconds": 1e300}}',
    b"{" * 5000,
]
_IDS = ["%00", "..%2F..%2Fetc%2Fpasswd", "x" * 4000, "%F0%9F%92%A9", "file-%0d%0aset-cookie:x", "%ff", "*", "{id}"]


def _fuzz_requests(rng: random.Random) -> list[tuple[str, str, dict[str, object]]]:
    requests: list[tuple[str, str, dict[str, object]]] = []
    json_type = {"content-type": "application/json"}
    for body in _JUNK:
        requests.append(("POST", "/v1/batches", {"content": body, "headers": json_type}))
        requests.append(("POST", "/v1/files", {"content": body, "headers": {"content-type": "multipart/form-data"}}))
    for ident in _IDS:
        for template in ("/v1/files/{}", "/v1/files/{}/content", "/v1/batches/{}", "/v1/accounting/batches/{}"):
            requests.append(("GET", template.format(ident), {}))
        requests.append(("POST", f"/v1/batches/{ident}/cancel", {"content": rng.choice(_JUNK), "headers": json_type}))
        requests.append(("DELETE", f"/v1/files/{ident}", {}))
    for _ in range(40):
        path = rng.choice(["/v1/files", "/v1/batches", "/v1/accounting/batches", "/v1/accounting/summary"])
        name = rng.choice(["limit", "after", "order", "purpose", "since", "until", "format", "group_by"])
        value = rng.choice(["-1", "0", "1e3", "", "%00", "\u2603", "9" * 40, "asc", "csv", "tenant,,model", "x" * 200])
        requests.append(("GET", path, {"params": {name: value}}))
    return requests


def test_bad_input_never_answers_500(limited: Limited) -> None:
    rng = random.Random(20261122)
    seen: dict[int, int] = {}
    with httpx.Client(base_url=limited.root_url, timeout=30) as http:
        for method, path, extra in _fuzz_requests(rng):
            headers = {"authorization": f"Bearer {TENANT_KEYS['beta']}", **extra.pop("headers", {})}  # type: ignore[dict-item]
            response = http.request(method, path, headers=headers, **extra)  # type: ignore[arg-type]
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (method, path, response.text[:300])
            if response.status_code >= 400:
                assert_matches("ErrorResponse", response.json())
        bad_keys = [b"Bearer", b"Basic abc", b"Bearer " + b"k" * 4000, "Bearer \u00e9".encode(), b"bearer x y"]
        for authorization in bad_keys:
            response = http.get("/v1/files", headers={b"authorization": authorization})
            assert_error(response, 401)
    print(f"fuzz statuses: {dict(sorted(seen.items()))}")
    assert set(seen) <= {200, 400, 404, 405, 413}
