"""Tenant keys kept in files (`api_key_file`), read once at `serve` start-up and kept only as SHA-256 digests.

A deployment can then generate its keys instead of shipping a known one: the compose stack writes a random
admin key into a volume on first start (deploy/compose.yaml, `keygen`), and the config names that file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from gateway.config.settings import ConfigError, Settings, Tenant

__all__ = ["with_key_files"]


def with_key_files(settings: Settings) -> Settings:
    """`settings` with each tenant's `api_key_file` key added to its `api_key_sha256`; ConfigError if unreadable."""
    if not any(tenant.api_key_file for tenant in settings.tenants):
        return settings
    tenants = [_with_file_key(index, tenant) for index, tenant in enumerate(settings.tenants)]
    return msgspec.structs.replace(settings, tenants=tenants)


def _with_file_key(index: int, tenant: Tenant) -> Tenant:
    if not tenant.api_key_file:
        return tenant
    where = f"tenants[{index}].api_key_file ({tenant.name})"
    try:
        key = Path(tenant.api_key_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{where}: cannot read {tenant.api_key_file!r}: {reason}") from None
    if not key or any(character.isspace() for character in key):
        raise ConfigError(f"{where}: {tenant.api_key_file!r} must hold one key, without spaces")
    digest = hashlib.sha256(key.encode()).hexdigest()
    return msgspec.structs.replace(tenant, api_key_sha256=[*tenant.api_key_sha256, digest])
