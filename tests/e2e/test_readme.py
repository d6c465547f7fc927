"""The README's snippets, run: its config examples load, its SDK quickstart and its CLI commands work
against a dev-mode gateway (no tenants, as on a fresh machine) whose DeepSeek route goes to a simulator."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from gateway.config.settings import RedisSettings, Settings, default_settings, load_settings
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.gateway_server import GatewayServer

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


@pytest.fixture
def dev_gateway(redis_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayServer]:
    upstream = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key="sk-readme-ds"))
    upstream.start()
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-readme-ds")
    defaults = default_settings()
    deepseek = msgspec.structs.replace(
        defaults.providers["deepseek"], base_url=upstream.base_url, poll_interval_seconds=0.2
    )
    settings: Settings = msgspec.structs.replace(
        defaults,
        data_dir=str(data_dir),
        redis=RedisSettings(url=redis_url),
        providers={**defaults.providers, "deepseek": deepseek},
    )
    assert settings.tenants == []  # dev mode, exactly as the README's quickstart describes
    server = GatewayServer(settings, run_worker=True)
    server.start()
    yield server
    server.stop()
    upstream.stop()


def test_config_examples_load(tmp_path: Path) -> None:
    examples = blocks("toml")
    assert examples
    for index, text in enumerate(examples):
        path = tmp_path / f"example-{index}.toml"
        path.write_text(text)
        settings = load_settings(path, environ={})
        assert settings.providers, f"README toml block {index} defines no provider"


def test_sdk_quickstart_runs(dev_gateway: GatewayServer, tmp_path: Path) -> None:
    [snippet] = blocks("python")
    env = {**os.environ, "OPENAI_BASE_URL": dev_gateway.base_url, "OPENAI_API_KEY": "sk-anything"}
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("completed")
    assert "request-1 echo request-1" in done.stdout


def test_cli_quickstart_runs(dev_gateway: GatewayServer, tmp_path: Path) -> None:
    requests = tmp_path / "batch_requests.jsonl"
    body = '{"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}'
    requests.write_text(f'{{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {body}}}\n')
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    commands = [c for c in blocks("bash")[1].splitlines() if c.strip()]
    for command in commands:
        words = shlex.split(command, comments=True)
        if words[0] == "export":
            env.update(word.split("=", 1) for word in words[1:])
            env["OPENAI_BASE_URL"] = dev_gateway.base_url  # the README's address, moved to the test's port
            continue
        if "<file-id>" in words:
            list_files = [str(BIN / "batchgate"), "files", "list", "--json"]
            listed = subprocess.run(list_files, env=env, capture_output=True, text=True, check=True)
            page = msgspec.json.decode(listed.stdout)
            output_ids = [f["id"] for f in page["data"] if f["purpose"] == "batch_output"]
            words[words.index("<file-id>")] = output_ids[0]
        done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "results.jsonl").read_text().count("custom_id") == 1
