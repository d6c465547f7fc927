"""The user's commands start without the server: what a fresh process imports, and the lazy command list.

Each probe runs `batchgate ...` (or imports a client module) in a new interpreter and reads back
`sys.modules`, so a top-level import added anywhere on the path shows up here, not only as a slower start
(tests/benchmarks/test_cli_startup_bench.py measures the time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

import accounting
from gateway.cli.commands import LAZY_COMMANDS, main

# Modules the user's side must never load: the HTTP server, Redis, metrics, the worker and the server's app.
SERVER_MODULES = (
    "litestar",
    "redis",
    "uvicorn",
    "prometheus_client",
    "structlog",
    "gateway.http.app",
    "gateway.worker",
)
# Modules only the network commands need: `--help` and `validate` start faster without them.
NETWORK_MODULES = ("rich", "httpx")

_PROBE = """
import sys
from pathlib import Path

out, how, *args = sys.argv[1:]
try:
    if how == "import":
        for name in args:
            __import__(name)
    else:
        from gateway.cli.commands import main
        main(args, prog_name="batchgate")
except SystemExit as exc:
    if exc.code:
        raise
Path(out).write_text("\\n".join(sorted(sys.modules)))
"""

LINE = (
    b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions",'
    b'"body":{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}}\n'
)
CONFIG = """
[providers.deepseek]
kind = "openai_batch"
base_url = "https://api.deepseek.com/v1"

[[models]]
name = "deepseek-chat"
provider = "deepseek"
"""


def _loaded(tmp_path: Path, how: str, *args: str) -> set[str]:
    out = tmp_path / "modules.txt"
    env = {"BATCHGATE_CONFIG": "", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), how, *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(out.read_text().split())


def _of(modules: set[str], roots: tuple[str, ...]) -> set[str]:
    return {name for name in modules if any(name == root or name.startswith(root + ".") for root in roots)}


@pytest.fixture
def one_line(tmp_path: Path) -> Path:
    path = tmp_path / "one.jsonl"
    path.write_bytes(LINE)
    return path


def test_help_loads_neither_the_server_nor_the_network_commands(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "cli", "--help")
    assert "gateway.cli.commands" in loaded
    assert _of(loaded, SERVER_MODULES + NETWORK_MODULES) == set()
    assert _of(loaded, ("gateway.validation", "gateway.client", "msgspec")) == set()
    assert "importlib.metadata" not in loaded  # only `--version` reads the installed package's metadata


def test_validate_loads_the_validator_only(tmp_path: Path, one_line: Path) -> None:
    loaded = _loaded(tmp_path, "cli", "validate", str(one_line), "--endpoint", "/v1/chat/completions")
    assert "gateway.validation" in loaded
    assert _of(loaded, SERVER_MODULES + NETWORK_MODULES + ("gateway.config.settings", "gateway.client")) == set()


def test_validate_with_a_config_loads_settings_without_redis(tmp_path: Path, one_line: Path) -> None:
    config = tmp_path / "batchgate.toml"
    config.write_text(CONFIG)
    loaded = _loaded(
        tmp_path, "cli", "validate", str(one_line), "--endpoint", "/v1/chat/completions", "--config", str(config)
    )
    assert "gateway.config.settings" in loaded
    assert _of(loaded, SERVER_MODULES + NETWORK_MODULES) == set()


def test_the_user_commands_and_client_modules_import_without_the_server(tmp_path: Path) -> None:
    package = Path(__file__).parents[2] / "gateway" / "client"
    modules = {f"gateway.client.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"}
    modules |= {entry.target.partition(":")[0] for entry in LAZY_COMMANDS.values()}
    loaded = _loaded(tmp_path, "import", *sorted(modules))
    assert modules <= loaded
    assert _of(loaded, (*SERVER_MODULES, "gateway.config.settings")) == set()


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
@pytest.mark.parametrize("limit", [30, 45, 80, 10_000])
def test_each_listed_help_line_is_the_commands_own(name: str, limit: int) -> None:
    listed = click.Command(name, help=LAZY_COMMANDS[name].help)
    assert listed.get_short_help_str(limit) == LAZY_COMMANDS[name].load().get_short_help_str(limit)


def test_the_group_dispatches_to_every_lazy_command_and_refuses_unknown_ones() -> None:
    context = click.Context(main)
    assert set(LAZY_COMMANDS) | {"serve", "worker"} == set(main.list_commands(context))
    for name, entry in LAZY_COMMANDS.items():
        assert main.get_command(context, name) is entry.load()
    assert main.get_command(context, "nope") is None


def test_accounting_exports_resolve_on_first_use() -> None:
    from accounting import keys  # a submodule, not an export: still found
    from accounting.prices import DEFAULT_MODEL_PRICES

    assert all(getattr(accounting, name) is not None for name in accounting.__all__)
    assert accounting.DEFAULT_MODEL_PRICES is DEFAULT_MODEL_PRICES
    assert keys.__name__ == "accounting.keys"
    with pytest.raises(AttributeError, match="nope"):
        _ = accounting.nope
