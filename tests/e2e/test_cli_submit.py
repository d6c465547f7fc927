"""`batchgate submit` against a real gateway over loopback, its worker driving the scripted provider."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import openai
import pytest
from click.testing import CliRunner, Result

from gateway.cli.commands import main
from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.ports import free_port
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import jsonl, line, wait_for

ENDPOINT = "/v1/chat/completions"


def submit(served: GatewayServer, *args: str, key: str = TENANT_KEYS["alpha"]) -> Result:
    env = {"OPENAI_BASE_URL": served.base_url, "OPENAI_API_KEY": key}
    return CliRunner().invoke(main, ["submit", *args, "--endpoint", ENDPOINT, "--poll-interval", "0.05"], env=env)


def printed_id(result: Result) -> str:
    """The batch id submit prints on stdout (the in-process gateway logs to stdout too: skip those lines)."""
    ids = [text for text in result.stdout.splitlines() if re.fullmatch(r"batch_\w+", text)]
    assert len(ids) == 1, result.output
    return ids[0]


def write(tmp_path: Path, ids: list[str], name: str = "requests.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(jsonl([line(i) for i in ids]))
    return path


def content(sdk: openai.OpenAI, file_id: str | None) -> bytes:
    assert file_id is not None
    return sdk.files.content(file_id).content


def test_wait_downloads_exact_output_and_no_error_file(
    served: GatewayServer, sdk: openai.OpenAI, tmp_path: Path
) -> None:
    path = write(tmp_path, ["a", "b", "c"])
    result = submit(served, str(path), "--wait", "--metadata", "job=eval", "--metadata", "team=x=y")
    assert result.exit_code == 0, result.output
    batch_id = printed_id(result)
    batch = sdk.batches.retrieve(batch_id)
    assert batch.status == "completed"
    assert batch.metadata == {"job": "eval", "team": "x=y"}
    output = tmp_path / "requests.output.jsonl"
    assert output.read_bytes() == content(sdk, batch.output_file_id)
    assert sorted(json.loads(x)["custom_id"] for x in output.read_text().splitlines()) == ["a", "b", "c"]
    assert batch.error_file_id is None
    assert not (tmp_path / "requests.errors.jsonl").exists()
    assert f"{batch_id} completed: 3 completed, 0 failed of 3" in result.stderr
    assert "cost $" in result.stderr  # the settled cost from the accounting API


def test_partial_failures_complete_with_both_files_at_chosen_paths(
    served: GatewayServer, sdk: openai.OpenAI, tmp_path: Path
) -> None:
    path = write(tmp_path, ["a", "fail-b", "c", "fail-d"])
    out, err = tmp_path / "o" / "out.jsonl", tmp_path / "err.jsonl"
    out.parent.mkdir()
    result = submit(served, str(path), "--wait", "--output", str(out), "--errors", str(err))
    assert result.exit_code == 0, result.output
    batch = sdk.batches.retrieve(printed_id(result))
    assert out.read_bytes() == content(sdk, batch.output_file_id)
    assert err.read_bytes() == content(sdk, batch.error_file_id)
    errors = [json.loads(x) for x in err.read_text().splitlines()]
    assert sorted(e["custom_id"] for e in errors) == ["fail-b", "fail-d"]
    assert {e["response"]["status_code"] for e in errors} == {400}
    assert "2 completed, 2 failed of 4" in result.stderr
    assert not list(tmp_path.rglob("*.part"))


def test_without_wait_prints_the_id_and_returns(served: GatewayServer, sdk: openai.OpenAI, tmp_path: Path) -> None:
    result = submit(served, str(write(tmp_path, ["a"])))
    assert result.exit_code == 0, result.output
    batch = sdk.batches.retrieve(printed_id(result))
    assert batch.endpoint == ENDPOINT
    assert f"batchgate batches wait {batch.id}" in result.stderr
    assert not (tmp_path / "requests.output.jsonl").exists()


def file_ids(served: GatewayServer) -> list[str]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    return [f["id"] for f in httpx.get(f"{served.base_url}/files", headers=headers).json()["data"]]


def test_bad_file_is_not_uploaded_and_exits_2_with_line_numbers(served: GatewayServer, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl([line("a"), line("a"), line("b", url="/v1/embeddings")]) + b"not json\n")
    result = submit(served, str(path), "--wait")
    assert result.exit_code == 2
    assert "line 2: duplicate_custom_id: custom_id 'a' is used twice" in result.stderr
    assert "line 3: url_mismatch:" in result.stderr
    assert "line 4: invalid_json_line:" in result.stderr
    assert "nothing was uploaded" in result.stderr
    assert not re.search(r"^batch_", result.stdout, re.MULTILINE)
    assert file_ids(served) == []


def test_server_side_failure_prints_errors_and_exits_1(served: GatewayServer, tmp_path: Path) -> None:
    # The client cannot know the server's routes, so an unserved model passes local validation.
    path = tmp_path / "unrouted.jsonl"
    path.write_bytes(jsonl([line("a", model="nobody-serves-this")]))
    result = submit(served, str(path), "--wait")
    assert result.exit_code == 1
    assert "failed: 0 completed, 0 failed of 0" in result.stderr
    assert "line 1: model_not_found:" in result.stderr
    assert "output: none" in result.stderr


def test_expired_batch_exits_1_and_keeps_results(
    served: GatewayServer, scripted: ScriptedProvider, sdk: openai.OpenAI, tmp_path: Path
) -> None:
    outcome = scripted.finish_as = "expired"
    result = submit(served, str(write(tmp_path, ["a", "b"])), "--wait")
    assert result.exit_code == 1, result.output
    batch = sdk.batches.retrieve(printed_id(result))
    assert batch.status == outcome
    assert f"{batch.id} {outcome}:" in result.stderr
    # Every input custom_id is in exactly one of the two downloaded files (ARCHITECTURE.md §2.4).
    seen = []
    for file_id, name in ((batch.output_file_id, "output"), (batch.error_file_id, "errors")):
        path = tmp_path / f"requests.{name}.jsonl"
        assert path.exists() == (file_id is not None)
        if file_id is not None:
            assert path.read_bytes() == content(sdk, file_id)
            seen += [json.loads(x)["custom_id"] for x in path.read_text().splitlines()]
    assert sorted(seen) == ["a", "b"]


def test_wrong_key_exits_3_without_echoing_the_key(served: GatewayServer, tmp_path: Path) -> None:
    result = submit(served, str(write(tmp_path, ["a"])), "--wait", key="sk-wrong-secret-key")
    assert result.exit_code == 3
    assert "authentication failed (401)" in result.stderr
    assert "sk-wrong-secret-key" not in result.output


def test_unreachable_base_url_exits_3(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "OPENAI_API_KEY": "sk-x"}
    args = ["submit", str(write(tmp_path, ["a"])), "--endpoint", ENDPOINT]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 3
    assert "cannot reach http://127.0.0.1:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metadata", "novalue"], "--metadata expects KEY=VALUE"),
        (["--endpoint", "/v1/images/generations"], "Invalid value for '--endpoint'"),
        (["--base-url", "ftp://example.invalid/v1"], "is not an http(s) URL"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = write(tmp_path, ["a"])
    result = CliRunner().invoke(
        main, ["submit", str(path), "--endpoint", ENDPOINT, *args], env={"OPENAI_API_KEY": "sk-x"}
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_file_and_missing_key_exit_2(tmp_path: Path) -> None:
    runner = CliRunner(env={"OPENAI_API_KEY": None})
    missing = runner.invoke(main, ["submit", str(tmp_path / "nope.jsonl"), "--endpoint", ENDPOINT, "--api-key", "k"])
    assert missing.exit_code == 2
    no_key = runner.invoke(main, ["submit", str(write(tmp_path, ["a"])), "--endpoint", ENDPOINT])
    assert no_key.exit_code == 2
    assert "--api-key" in no_key.stderr


class Submitting:
    """`batchgate submit --wait` as a child process (signals need one), its output read as it comes."""

    def __init__(self, served: GatewayServer, path: Path, stdin: int) -> None:
        env = {**os.environ, "OPENAI_BASE_URL": served.base_url, "OPENAI_API_KEY": TENANT_KEYS["alpha"]}
        argv = [BATCHGATE, "submit", str(path), "--endpoint", ENDPOINT, "--wait", "--poll-interval", "0.05"]
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: IO[bytes] | None, sink: list[str]) -> None:
        assert stream is not None
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            sink.append(chunk.decode())

    def wait_for(self, sink: list[str], pattern: str, timeout: float = 15) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, "".join(sink), re.MULTILINE):
                return found
            time.sleep(0.02)
        self.proc.kill()
        raise AssertionError(f"no {pattern!r} in {''.join(sink)!r}")

    def interrupt_when_running(self, sdk: openai.OpenAI) -> str:
        batch_id = self.wait_for(self.out, r"^batch_\w+$").group(0)
        wait_for(sdk, batch_id, {"in_progress"})
        time.sleep(0.3)  # a few polls into following
        self.proc.send_signal(signal.SIGINT)
        return batch_id

    def finish(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.proc.kill()
            self.proc.wait()
            for reader in self._readers:
                reader.join(timeout=5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


BATCHGATE = str(Path(sys.executable).with_name("batchgate"))


def test_ctrl_c_without_a_tty_stops_following_and_leaves_the_batch_running(
    served: GatewayServer, scripted: ScriptedProvider, sdk: openai.OpenAI, tmp_path: Path
) -> None:
    scripted.hold = True
    run = Submitting(served, write(tmp_path, ["a", "b"]), stdin=subprocess.DEVNULL)
    batch_id = run.interrupt_when_running(sdk)
    assert run.finish() == 130
    stderr = "".join(run.err)
    assert f"batchgate batches wait {batch_id}" in stderr
    assert f"batchgate batches cancel {batch_id}" in stderr
    assert "[c]ancel" not in stderr  # nobody to ask
    time.sleep(0.3)
    assert sdk.batches.retrieve(batch_id).status == "in_progress"
    assert scripted.cancels == []


def test_ctrl_c_on_a_tty_can_cancel_and_downloads_partial_results(
    served: GatewayServer, scripted: ScriptedProvider, sdk: openai.OpenAI, tmp_path: Path
) -> None:
    scripted.hold = True
    ids = [f"r{i}" for i in range(6)]
    leader, follower = pty.openpty()
    try:
        run = Submitting(served, write(tmp_path, ids), stdin=follower)
        batch_id = run.interrupt_when_running(sdk)
        run.wait_for(run.err, r"\[c\]ancel the batch")
        os.write(leader, b"c\n")
        assert run.finish() == 1
    finally:
        os.close(leader)
        os.close(follower)
    batch = sdk.batches.retrieve(batch_id)
    assert batch.status == "cancelled"
    assert scripted.cancels == [batch_id]
    output = (tmp_path / "requests.output.jsonl").read_text().splitlines()
    errors = [json.loads(x) for x in (tmp_path / "requests.errors.jsonl").read_text().splitlines()]
    assert len(output) == 3
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert f"{batch_id} cancelled: 3 completed, 3 failed of 6" in "".join(run.err)
