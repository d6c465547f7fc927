"""The openai SDK's `client.files.*` against a real gateway over loopback, responses checked against the schemas."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.schemas import assert_matches
from tests.support.workflow import chunked_upload_head

LINE = b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "deepseek-chat"}}\n'


def raw(
    gateway: GatewayServer,
    method: str,
    path: str,
    *,
    key: str | None = TENANT_KEYS["alpha"],
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> httpx.Response:
    all_headers = {"authorization": f"Bearer {key}"} if key else {}
    all_headers.update(headers or {})
    return httpx.request(method, gateway.root_url + path, headers=all_headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def stored_objects(gateway: GatewayServer) -> list[Path]:
    root = gateway.settings.storage_dir / "files"
    return sorted(root.iterdir()) if root.exists() else []


def test_upload_retrieve_content_delete_round_trip(
    client: openai.OpenAI, gateway: GatewayServer, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(LINE * 3)
    with path.open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    assert uploaded.filename == "requests.jsonl"
    assert uploaded.bytes == len(LINE) * 3
    assert uploaded.purpose == "batch"
    assert uploaded.expires_at == uploaded.created_at + 30 * 24 * 3600
    assert uploaded.id.startswith("file-")

    body = raw(gateway, "GET", f"/v1/files/{uploaded.id}").json()
    assert_matches("FileObject", body)
    assert set(body) == {
        "id",
        "object",
        "bytes",
        "created_at",
        "expires_at",
        "filename",
        "purpose",
        "status",
        "status_details",
    }
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    assert client.files.content(uploaded.id).content == LINE * 3

    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.deleted) == (uploaded.id, True)
    assert_matches(
        "DeleteFileResponse",
        raw(gateway, "DELETE", f"/v1/files/{uploaded.id}").json()
        | {"deleted": True, "object": "file", "id": uploaded.id},
    )
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    assert stored_objects(gateway) == []


def test_raw_bytes_upload_and_expires_after(client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=LINE, purpose="batch", expires_after={"anchor": "created_at", "seconds": 3600})
    assert uploaded.filename == "upload"
    assert uploaded.expires_at == uploaded.created_at + 3600
    other = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    assert other.expires_at is None


def test_list_paginates_newest_first_with_exact_has_more(client: openai.OpenAI, gateway: GatewayServer) -> None:
    ids = [client.files.create(file=(f"f{i}.jsonl", LINE), purpose="batch").id for i in range(7)]
    client.files.create(file=("other.txt", b"x"), purpose="user_data")

    listed = [item.id for item in client.files.list(purpose="batch", limit=3)]  # auto-pagination over 3 pages
    assert listed == list(reversed(ids))
    ascending = [item.id for item in client.files.list(purpose="batch", order="asc", limit=2)]
    assert ascending == ids

    page = raw(gateway, "GET", "/v1/files", params={"limit": 7, "purpose": "batch"}).json()
    assert_matches("ListFilesResponse", page)
    assert page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == (ids[-1], ids[0])
    end = raw(gateway, "GET", "/v1/files", params={"after": ids[0], "purpose": "batch"}).json()
    assert end == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert len(client.files.list().data) == 8


def test_tenants_see_only_their_files(
    client: openai.OpenAI, beta_client: openai.OpenAI, gateway: GatewayServer
) -> None:
    mine = client.files.create(file=("a.jsonl", LINE), purpose="batch")
    unknown = raw(gateway, "GET", "/v1/files/file-doesnotexist", key=TENANT_KEYS["beta"])
    foreign = raw(gateway, "GET", f"/v1/files/{mine.id}", key=TENANT_KEYS["beta"])
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["message"].replace(mine.id, "ID") == unknown.json()["error"]["message"].replace(
        "file-doesnotexist", "ID"
    )
    assert beta_client.files.list().data == []
    for call in (beta_client.files.retrieve, beta_client.files.content, beta_client.files.delete):
        with pytest.raises(openai.NotFoundError):
            call(mine.id)
    assert client.files.retrieve(mine.id).id == mine.id


@pytest.mark.parametrize(
    ("files", "data", "status", "param"),
    [
        ({"file": ("a.jsonl", LINE)}, {"purpose": "nonsense"}, 400, "purpose"),
        ({"file": ("a.jsonl", LINE)}, {}, 400, "purpose"),
        (None, {"purpose": "batch"}, 400, "file"),
        ({"file": ("a.csv", LINE)}, {"purpose": "batch"}, 400, "file"),
        (
            {"file": ("a.jsonl", LINE)},
            {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "10"},
            400,
            "expires_after[seconds]",
        ),
        ({"file": ("a.jsonl", LINE)}, {"purpose": "batch", "surprise": "x"}, 400, "surprise"),
    ],
)
def test_bad_uploads_are_clear_errors_and_leave_nothing(
    gateway: GatewayServer,
    files: dict[str, tuple[str, bytes]] | None,
    data: dict[str, str],
    status: int,
    param: str | None,
) -> None:
    if files is None:  # a multipart body without a file part
        response = raw(gateway, "POST", "/v1/files", files={"purpose": (None, "batch")})
    else:
        response = raw(gateway, "POST", "/v1/files", files=files, data=data)
    assert response.status_code == status, response.text
    assert_matches("ErrorResponse", response.json())
    assert response.json()["error"]["param"] == param
    assert stored_objects(gateway) == []
    assert raw(gateway, "GET", "/v1/files").json()["data"] == []


def test_garbage_and_non_multipart_bodies(gateway: GatewayServer) -> None:
    garbage = raw(
        gateway,
        "POST",
        "/v1/files",
        content=b"\x00garbage",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    not_multipart = raw(gateway, "POST", "/v1/files", json={"purpose": "batch"})
    for response in (garbage, not_multipart):
        assert response.status_code == 400
        assert_matches("ErrorResponse", response.json())
    assert stored_objects(gateway) == []


async def test_oversized_batch_upload_is_413_early_and_storage_stays_clean(gateway: GatewayServer) -> None:
    """Stream a 400 MB batch upload with no Content-Length; the 413 must arrive long before it is all sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    http_head, head = chunked_upload_head("alpha", "big.jsonl")
    writer.write(http_head)
    response = asyncio.create_task(reader.read(4096))
    sent = 0
    chunk = LINE * 10_000
    for piece in (head, *(chunk for _ in range(400 * 1024 * 1024 // len(chunk)))):
        if response.done():
            break
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await writer.drain()
        sent += len(piece)
    answer = await asyncio.wait_for(response, timeout=30)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 260 * 1024 * 1024, f"the gateway read {sent} bytes before answering"
    for _ in range(50):  # the handler removes its partial object as it unwinds
        if not stored_objects(gateway) and not list(gateway.settings.storage_dir.rglob("*.part")):
            break
        await asyncio.sleep(0.05)
    assert stored_objects(gateway) == []
    assert list(gateway.settings.storage_dir.rglob("*.part")) == []


async def test_declared_oversized_body_is_rejected_before_reading(gateway: GatewayServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(
        b"POST /v1/files HTTP/1.1\r\nhost: test\r\ncontent-type: multipart/form-data; boundary=b\r\n"
        + f"authorization: Bearer {TENANT_KEYS['alpha']}\r\ncontent-length: {600 * 1024 * 1024}\r\n\r\n".encode()
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=10)  # no body byte was sent
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_list_query_limits(gateway: GatewayServer, params: dict[str, object], param: str) -> None:
    response = raw(gateway, "GET", "/v1/files", params=params)
    assert response.status_code == 400
    assert_matches("ErrorResponse", response.json())
    assert response.json()["error"]["param"] == param


def test_auth_errors_use_the_envelope(gateway: GatewayServer) -> None:
    for key in (None, "sk-wrong"):
        response = raw(gateway, "GET", "/v1/files", key=key)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong" not in response.text
    with (
        openai.OpenAI(base_url=gateway.base_url, api_key="sk-wrong", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.files.list()


def test_unknown_routes_and_methods_and_request_ids(gateway: GatewayServer) -> None:
    missing = raw(gateway, "GET", "/v1/nothing-here")
    wrong_method = raw(gateway, "PUT", "/v1/files")
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    for response in (missing, wrong_method):
        assert_matches("ErrorResponse", response.json())
        assert response.headers["x-request-id"].startswith("req_")
    assert raw(gateway, "GET", "/healthz").headers["x-request-id"] != missing.headers["x-request-id"]


def test_health_ready_and_openapi(gateway: GatewayServer) -> None:
    assert raw(gateway, "GET", "/healthz").json() == {"status": "ok"}
    ready = raw(gateway, "GET", "/readyz")
    assert ready.status_code == 200
    assert ready.json()["redis"] is True
    schema = raw(gateway, "GET", "/schema/openapi.json").json()
    assert "/v1/files" in schema["paths"]
    json.dumps(schema)
