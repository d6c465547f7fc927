"""`[webhooks]` in the operator's config: strict keys, and retries never promised for less than 24 hours."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.settings import ConfigError, Settings, load_settings


def _load(tmp_path: Path, section: str) -> Settings:
    path = tmp_path / "batchgate.toml"
    path.write_text(f"[webhooks]\n{section}\n")
    return load_settings(path, environ={})


def test_allowed_hosts_and_schedule_load(tmp_path: Path) -> None:
    loaded = _load(tmp_path, 'allowed_hosts = ["hooks.internal"]\nfirst_retry_seconds = 1.5')
    assert loaded.webhooks.allowed_hosts == ["hooks.internal"]
    assert loaded.webhooks.first_retry_seconds == 1.5
    assert loaded.webhooks.retry_for_seconds == 3 * 86400


@pytest.mark.parametrize(
    ("section", "named"),
    [("allowed_host = []", "webhooks.allowed_host"), ("retry_for_seconds = 3600", "retry_for_seconds")],
)
def test_typos_and_short_retry_windows_are_refused(tmp_path: Path, section: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _load(tmp_path, section)
