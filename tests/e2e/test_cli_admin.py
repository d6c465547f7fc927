"""`batchgate batches ...` and `batchgate files ...` against a real gateway over loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner, Result

from gateway.cli.commands import main
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.schemas import assert_matches
from tests.support.workflow import jsonl, line, wait_for

ENDPOINT = "/v1/chat/completions"


def cli(server: GatewayServer, *args: str, tenant: str = "alpha") -> Result:
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": TENANT_KEYS[tenant]}
    return CliRunner().invoke(main, list(args), env=env)


def json_out(result: Result) -> dict[str, Any]:
    """The JSON document on stdout (the in-process gateway logs to stdout too: it is the `{` line)."""
    assert result.exit_code == 0, result.output
    documents = [text for text in result.stdout.splitlines() if text.startswith("{")]
    assert len(documents) == 1, result.stdout
    body: dict[str, Any] = json.loads(documents[0])
    return body


def upload(client: openai.OpenAI, name: str, content: bytes) -> str:
    return client.files.create(file=(name, content), purpose="batch").id


def new_batch(client: openai.OpenAI, file_id: str) -> str:
    return client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h").id


def test_files_list_show_json_and_table(gateway: GatewayServer, client: openai.OpenAI) -> None:
    first, second = upload(client, "one.jsonl", b"{}\n"), upload(client, "two.jsonl", b"{}\n{}\n")
    page = json_out(cli(gateway, "files", "list", "--json"))
    assert_matches("ListFilesResponse", page)
    assert [item["id"] for item in page["data"]] == [second, first]
    shown = json_out(cli(gateway, "files", "show", first, "--json"))
    assert_matches("FileObject", shown)
    assert (shown["id"], shown["filename"], shown["bytes"]) == (first, "one.jsonl", 3)
    table = cli(gateway, "files", "list")
    assert table.exit_code == 0
    assert first in table.stdout
    assert "two.jsonl" in table.stdout
    detail = cli(gateway, "files", "show", second)
    assert "two.jsonl" in detail.stdout


def test_files_download_and_delete(
    gateway: GatewayServer, client: openai.OpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = jsonl([line("a"), line("b")])
    file_id = upload(client, "in.jsonl", content)
    target = tmp_path / "copy.jsonl"
    assert cli(gateway, "files", "download", file_id, "--output", str(target)).exit_code == 0
    assert target.read_bytes() == content
    monkeypatch.chdir(tmp_path)
    assert cli(gateway, "files", "download", file_id).exit_code == 0
    assert (tmp_path / "in.jsonl").read_bytes() == content  # the file's own name, in the current directory
    deleted = json_out(cli(gateway, "files", "delete", file_id, "--json"))
    assert_matches("DeleteFileResponse", deleted)
    assert deleted == {"id": file_id, "object": "file", "deleted": True}
    assert json_out(cli(gateway, "files", "list", "--json"))["data"] == []
    again = cli(gateway, "files", "delete", file_id)
    assert again.exit_code == 2
    assert "(404)" in again.stderr


def test_batches_list_show_cancel(gateway: GatewayServer, client: openai.OpenAI) -> None:
    file_id = upload(client, "in.jsonl", jsonl([line("a")]))
    ids = [new_batch(client, file_id) for _ in range(3)]
    page = json_out(cli(gateway, "batches", "list", "--json", "--limit", "2"))
    assert_matches("ListBatchesResponse", page)
    assert [item["id"] for item in page["data"]] == [ids[2], ids[1]]
    assert page["has_more"] is True
    rest = json_out(cli(gateway, "batches", "list", "--json", "--after", ids[1]))
    assert [item["id"] for item in rest["data"]] == [ids[0]]
    shown = json_out(cli(gateway, "batches", "show", ids[0], "--json"))
    assert_matches("Batch", shown)
    assert (shown["id"], shown["status"]) == (ids[0], "validating")
    table = cli(gateway, "batches", "list")
    assert all(batch_id in table.stdout for batch_id in ids)
    # Without a worker the batch is still validating: cancel moves it to cancelling (a worker finishes it).
    cancelled = json_out(cli(gateway, "batches", "cancel", ids[0], "--json"))
    assert cancelled["status"] == "cancelling"
    again = json_out(cli(gateway, "batches", "cancel", ids[0], "--json"))
    assert (again["id"], again["status"]) == (ids[0], "cancelling")


def test_other_tenants_ids_unknown_ids_and_bad_keys(gateway: GatewayServer, client: openai.OpenAI) -> None:
    file_id = upload(client, "in.jsonl", jsonl([line("a")]))
    batch_id = new_batch(client, file_id)
    for args in (["files", "show", file_id], ["batches", "show", batch_id], ["batches", "show", "batch_nope"]):
        result = cli(gateway, *args, tenant="beta")
        assert result.exit_code == 2, args
        assert "(404)" in result.stderr
    env = {"OPENAI_BASE_URL": gateway.base_url, "OPENAI_API_KEY": "sk-not-a-tenant"}
    result = CliRunner().invoke(main, ["batches", "list"], env=env)
    assert result.exit_code == 3
    assert "sk-not-a-tenant" not in result.output


@pytest.mark.parametrize("command", [["batches", "list"], ["files", "list"], ["batches", "show", "batch_x"]])
def test_unreachable_server_exits_3(command: list[str]) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-x"}
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 3
    assert "cannot reach http://127.0.0.1:9/v1" in result.stderr


def test_batches_download_and_wait(served: GatewayServer, sdk: openai.OpenAI, tmp_path: Path) -> None:
    batch_id = new_batch(sdk, upload(sdk, "in.jsonl", jsonl([line("a"), line("fail-b")])))
    done = wait_for(sdk, batch_id, {"completed"})
    out, err = tmp_path / "out.jsonl", tmp_path / "err.jsonl"
    result = cli(served, "batches", "download", batch_id, "--output", str(out), "--errors", str(err))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == sdk.files.content(done.output_file_id or "").content
    assert err.read_bytes() == sdk.files.content(done.error_file_id or "").content
    out.unlink()
    waited = cli(served, "batches", "wait", batch_id, "--output", str(out), "--errors", str(err))
    assert waited.exit_code == 0
    assert f"{batch_id} completed: 1 completed, 1 failed of 2" in waited.stderr
    assert [json.loads(x)["custom_id"] for x in out.read_text().splitlines()] == ["a"]
