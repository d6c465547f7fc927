from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from gateway.cli.validate import validate_command
from tests.unit.validation.builders import CHAT, EMBEDDINGS, jsonl, request

CONFIG = """
[providers.deepseek]
kind = "openai_batch"
base_url = "https://api.deepseek.com/v1"
endpoints = ["/v1/chat/completions"]

[[models]]
name = "deepseek-chat"
provider = "deepseek"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "batchgate.toml"
    path.write_text(CONFIG)
    return path


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "input.jsonl"
    path.write_bytes(data)
    return path


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(validate_command, list(args), env={"BATCHGATE_CONFIG": ""} | (env or {}))


def test_valid_file_exits_0_with_the_exact_json_shape(tmp_path: Path) -> None:
    path = _file(tmp_path, jsonl(request(CHAT, "a"), request(CHAT, "b")))
    result = _invoke(str(path), "--endpoint", CHAT, "--json")
    assert result.exit_code == 0
    assert msgspec.json.decode(result.output) == {"valid": True, "requests": 2, "model": "m", "errors": []}


def test_invalid_file_exits_1_and_lists_errors_in_json(tmp_path: Path) -> None:
    path = _file(tmp_path, jsonl(request(CHAT, "a"), request(CHAT, "a")))
    result = _invoke(str(path), "--endpoint", CHAT, "--json")
    assert result.exit_code == 1
    report = msgspec.json.decode(result.output)
    assert list(report) == ["valid", "requests", "model", "errors"]
    assert report["valid"] is False
    assert report["errors"] == [
        {"code": "duplicate_custom_id", "message": "custom_id 'a' is used twice", "param": "custom_id", "line": 2}
    ]


def test_text_output_lists_line_code_message_and_a_summary(tmp_path: Path) -> None:
    path = _file(tmp_path, jsonl(request(CHAT, "a"), b"oops\n"))
    result = _invoke(str(path), "--endpoint", CHAT)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("line 2: invalid_json_line: ")
    assert lines[-1] == "invalid: 1 errors in 2 requests for model 'm'"
    empty = _invoke(str(_file(tmp_path, b"")), "--endpoint", CHAT)
    assert empty.output.splitlines()[0] == "file: empty_file: the file holds no request lines"


def test_config_checks_that_a_route_serves_the_model_for_the_endpoint(tmp_path: Path, config: Path) -> None:
    served = _file(tmp_path, jsonl(request(CHAT, "a", model="deepseek-chat")))
    assert _invoke(str(served), "--endpoint", CHAT, "--config", str(config)).exit_code == 0
    assert _invoke(str(served), "--endpoint", CHAT).exit_code == 0  # no config: the model check is skipped
    unknown = _invoke(str(_file(tmp_path, jsonl(request(CHAT)))), "--endpoint", CHAT, "--config", str(config), "--json")
    assert unknown.exit_code == 1
    assert msgspec.json.decode(unknown.output)["errors"][0]["code"] == "model_not_found"
    wrong_endpoint = _file(tmp_path, jsonl(request(EMBEDDINGS, model="deepseek-chat")))
    result = _invoke(str(wrong_endpoint), "--endpoint", EMBEDDINGS, env={"BATCHGATE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert "model_not_found" in result.output


def test_config_applies_the_models_max_output_tokens(tmp_path: Path) -> None:
    config = tmp_path / "capped.toml"
    config.write_text(CONFIG + "max_output_tokens = 100\n")
    lines = jsonl(request(CHAT, "a", model="deepseek-chat"), request(CHAT, "b", model="deepseek-chat", max_tokens=101))
    result = _invoke(str(_file(tmp_path, lines)), "--endpoint", CHAT, "--config", str(config), "--json")
    assert result.exit_code == 1
    (error,) = msgspec.json.decode(result.output)["errors"]
    assert (error["code"], error["line"], error["param"]) == ("max_tokens_too_large", 2, "body.max_tokens")


@pytest.mark.parametrize(
    "args",
    [
        ["--endpoint", "/v1/images/generations"],
        ["--endpoint", CHAT, "--config", "/nonexistent/batchgate.toml"],
        [],
    ],
    ids=["unknown_endpoint", "missing_config", "no_endpoint"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    path = _file(tmp_path, jsonl(request(CHAT)))
    assert _invoke(str(path), *args).exit_code == 2


def test_bad_config_and_unreadable_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 1\n")
    result = _invoke(str(_file(tmp_path, jsonl(request(CHAT)))), "--endpoint", CHAT, "--config", str(bad))
    assert result.exit_code == 2
    assert "prot" in result.output
    missing = _invoke(str(tmp_path / "absent.jsonl"), "--endpoint", CHAT)
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    directory = _invoke(str(tmp_path), "--endpoint", CHAT)
    assert directory.exit_code == 2
