"""The snippets of README.md and docs/*.md, run: every config example loads, the SDK quickstart and the CLI
commands (quickstart, then accounting) work against a dev-mode gateway (no tenants, as on a fresh machine)
whose DeepSeek route goes to a simulator. Blocks are found by their snippet name (tests/support/doc_snippets.py)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from gateway.config.settings import AccountingSettings, RedisSettings, Settings, default_settings, load_settings
from tests.support.batch_upstream import DEEPSEEK, BatchUpstream
from tests.support.doc_snippets import Snippet, snippets, the_snippet
from tests.support.gateway_server import GatewayServer

BIN = Path(sys.executable).parent
# The tag keys docs/configuration.md declares, which the accounting commands group by.
DOCUMENTED_TAG_KEYS = ["team", "project"]


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
        accounting=AccountingSettings(tag_keys=DOCUMENTED_TAG_KEYS),
    )
    assert settings.tenants == []  # dev mode, exactly as the README's quickstart describes
    server = GatewayServer(settings, run_worker=True)
    server.start()
    yield server
    server.stop()
    upstream.stop()


def test_config_examples_load(tmp_path: Path) -> None:
    examples = snippets("config")
    assert {example.path.name for example in examples} >= {"README.md", "configuration.md"}
    for index, example in enumerate(examples):
        path = tmp_path / f"example-{index}.toml"
        path.write_text(example.text)
        settings = load_settings(path, environ={})
        assert settings.providers, f"{example} defines no provider"
        documented_keys = settings.accounting.tag_keys
        assert not documented_keys or documented_keys == DOCUMENTED_TAG_KEYS, f"{example}: update DOCUMENTED_TAG_KEYS"


def test_sdk_quickstart_runs(dev_gateway: GatewayServer, tmp_path: Path) -> None:
    snippet = the_snippet("sdk-quickstart")
    assert snippet.language == "python"
    env = {**os.environ, "OPENAI_BASE_URL": dev_gateway.base_url, "OPENAI_API_KEY": "sk-anything"}
    done = subprocess.run(
        [sys.executable, "-c", snippet.text], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("completed")
    assert "request-1 echo request-1" in done.stdout


def run_commands(snippet: Snippet, env: dict[str, str], cwd: Path, base_url: str) -> dict[str, str]:
    """Run a shell snippet's commands in order, as a user would; answer each command's stdout."""
    outputs: dict[str, str] = {}
    for command in (c for c in snippet.text.splitlines() if c.strip()):
        words = shlex.split(command, comments=True)
        if words[0] == "export":
            env.update(word.split("=", 1) for word in words[1:])
            env["OPENAI_BASE_URL"] = base_url  # the README's address, moved to the test's port
            continue
        if "<file-id>" in words:
            list_files = [str(BIN / "batchgate"), "files", "list", "--json"]
            listed = subprocess.run(list_files, env=env, capture_output=True, text=True, check=True)
            page = msgspec.json.decode(listed.stdout)
            output_ids = [f["id"] for f in page["data"] if f["purpose"] == "batch_output"]
            words[words.index("<file-id>")] = output_ids[0]
        done = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{snippet}: {command}\n{done.stdout}\n{done.stderr}"
        outputs[command] = done.stdout
    return outputs


def test_cli_quickstart_runs(dev_gateway: GatewayServer, tmp_path: Path) -> None:
    requests = tmp_path / "batch_requests.jsonl"
    body = '{"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}'
    requests.write_text(f'{{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {body}}}\n')
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    quickstart = the_snippet("cli-quickstart")
    assert quickstart.language == "bash"
    run_commands(quickstart, env, tmp_path, dev_gateway.base_url)
    assert (tmp_path / "results.jsonl").read_text().count("custom_id") == 1

    # The accounting commands, with the same environment, once that batch is settled.
    accounting = the_snippet("accounting-cli")
    outputs = run_commands(accounting, env, tmp_path, dev_gateway.base_url)
    [by_team_csv] = [out for command, out in outputs.items() if "--group-by team --csv" in command]
    assert by_team_csv.splitlines()[0].startswith("team,")
    assert "untagged" in by_team_csv  # the quickstart's batch, which names no team
    focus_header = (tmp_path / "nov.csv").read_text().splitlines()[0]
    assert "BilledCost" in focus_header
