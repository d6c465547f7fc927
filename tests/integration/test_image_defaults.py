"""The image's default config (deploy/batchgate.toml) never starts with a known key: without the key file the
compose stack generates, `serve` refuses to start; with one, that key (and only it) is the admin tenant's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gateway.config.key_files import with_key_files
from gateway.config.settings import ConfigError, load_settings
from gateway.http.auth import Authenticator
from tests.support.processes import BATCHGATE

IMAGE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "batchgate.toml"


def _config_with_key_file(tmp_path: Path, key_file: Path) -> Path:
    text = IMAGE_CONFIG.read_text(encoding="utf-8")
    text, count = re.subn(r'(?m)^api_key_file = ".*"$', f'api_key_file = "{key_file}"', text)
    assert count == 1, "deploy/batchgate.toml changed shape: update this test"
    config = tmp_path / "batchgate.toml"
    config.write_text(text, encoding="utf-8")
    return config


def test_the_bare_image_config_refuses_to_serve(tmp_path: Path) -> None:
    """The image's CMD (`serve --host 0.0.0.0` with its config), with no key mounted: exit 2, nothing started."""
    argv = [
        str(BATCHGATE),
        "serve",
        "--host",
        "0.0.0.0",
        "--config",
        str(_config_with_key_file(tmp_path, tmp_path / "none")),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 2
    assert "tenants[0].api_key_file (admin)" in done.stderr
    assert "No such file" in done.stderr


def test_a_generated_key_file_is_the_admin_key(tmp_path: Path) -> None:
    key_file = tmp_path / "admin.key"
    key_file.write_text("sk-batchgate-generated-abc\n")
    settings = with_key_files(load_settings(_config_with_key_file(tmp_path, key_file), environ={}))
    authenticator = Authenticator(settings.tenants)
    principal = authenticator.authenticate("Bearer sk-batchgate-generated-abc")
    assert principal is not None
    assert (principal.tenant, principal.admin) == ("admin", True)
    assert authenticator.authenticate("Bearer sk-batchgate-demo-change-me") is None
    assert "sk-batchgate-generated-abc" not in repr(settings)  # kept as a digest only


@pytest.mark.parametrize("content", ["", "  \n", "two keys\n"])
def test_an_unusable_key_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "admin.key"
    key_file.write_text(content)
    with pytest.raises(ConfigError, match="must hold one key"):
        with_key_files(load_settings(_config_with_key_file(tmp_path, key_file), environ={}))
