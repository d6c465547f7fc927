"""The container image's recipe, followed without Docker (no Docker engine runs on CI machines).

deploy/Dockerfile's builder stage copies a few paths, builds a wheel from them and installs it into a fresh
venv; the runtime stage runs `batchgate` from that venv with deploy/batchgate.toml. This test does the same
on the host, from the Dockerfile's own COPY lines, so a file missing from the wheel, a dependency missing
from pyproject.toml or a broken entry point fails here instead of in a user's image. It then starts
`batchgate serve` from that venv (outside the source tree) and runs the image's HEALTHCHECK command.

Slow (it installs every dependency into a new venv): `make test-slow`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.processes import BatchgateProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PACKAGES = ("gateway", "providers", "accounting")


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(name + " ")]


def _builder_sources() -> list[str]:
    """Every path the builder stage copies from the build context (`COPY src... dst`, no `--from`)."""
    return [source for copy in _instructions("COPY") if not copy.startswith("--") for source in copy.split()[:-1]]


def _copy_build_context(destination: Path) -> None:
    for source in _builder_sources():
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, destination / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, destination / source)


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> str:
    clean_env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(argv, cwd=cwd, env=clean_env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv, wheel) built exactly as the builder stage does."""
    root = tmp_path_factory.mktemp("image")
    context, wheels, venv = root / "src", root / "wheels", root / "opt-batchgate"
    context.mkdir()
    _copy_build_context(context)
    _run([sys.executable, "-m", "venv", str(venv)], cwd=root)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), "."], cwd=context)
    [wheel] = wheels.glob("batchgate-*.whl")
    _run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], cwd=root)
    return venv, wheel


def test_wheel_holds_every_module_and_nothing_else(image_venv: tuple[Path, Path]) -> None:
    _, wheel = image_venv
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    assert modules - names == set(), "modules missing from the wheel"
    top_levels = {name.split("/")[0] for name in names if not name.startswith("batchgate-")}
    assert top_levels == set(PACKAGES), "the wheel carries only the three packages (no tests, no deploy/)"


def test_installed_entry_point_runs_outside_the_source_tree(image_venv: tuple[Path, Path], tmp_path: Path) -> None:
    venv, _ = image_venv
    batchgate = str(venv / "bin" / "batchgate")
    assert "serve" in _run([batchgate, "--help"], cwd=tmp_path)
    lines = tmp_path / "ok.jsonl"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    lines.write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": body}))
    validate = [batchgate, "validate", str(lines), "--endpoint", "/v1/chat/completions", "--json"]
    report = json.loads(_run(validate, cwd=tmp_path))
    assert report["valid"] is True
    located = _run([str(venv / "bin" / "python"), "-c", "import gateway; print(gateway.__file__)"], cwd=tmp_path)
    assert located.startswith(str(venv)), "the installed package must be the one imported, not the checkout"


ADMIN_KEY = "sk-batchgate-test-generated"  # what compose's keygen would write into the key volume


def _image_config(tmp_path: Path) -> Path:
    """deploy/batchgate.toml with the host-specific values swapped: data_dir, local storage (no MinIO), and the
    admin key file (compose generates it into a volume)."""
    text = (ROOT / "deploy" / "batchgate.toml").read_text(encoding="utf-8")
    text, data_dirs = re.subn(r'(?m)^data_dir = ".*"$', f'data_dir = "{tmp_path / "data"}"', text)
    text, storages = re.subn(r'(?m)^url = "s3://[^"]*"', 'url = ""', text)
    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_KEY)
    text, key_files = re.subn(r'(?m)^api_key_file = ".*"$', f'api_key_file = "{key_file}"', text)
    assert (data_dirs, storages, key_files) == (1, 1, 1), "deploy/batchgate.toml changed shape: update this test"
    config = tmp_path / "batchgate.toml"
    config.write_text(text, encoding="utf-8")
    return config


def test_serve_from_the_image_venv_passes_the_image_healthcheck(
    image_venv: tuple[Path, Path], tmp_path: Path, redis_url: str
) -> None:
    venv, _ = image_venv
    port = free_port()
    config = _image_config(tmp_path)
    env = {"REDIS_URL": redis_url, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--config", str(config)]
    server = BatchgateProcess(args, tmp_path / "serve.log", env, binary=venv / "bin" / "batchgate", cwd=tmp_path)
    server.start()
    try:
        server.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=30)
        [healthcheck] = _instructions("HEALTHCHECK")
        command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
        assert command[0] == "python"
        command = [str(venv / "bin" / "python"), *[part.replace(":8000/", f":{port}/") for part in command[1:]]]
        _run(command, cwd=tmp_path, timeout=10)
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/batches", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert listed.status_code == 200, listed.text
        assert listed.json()["object"] == "list"
    finally:
        server.stop()
