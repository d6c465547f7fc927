"""Every Redis key the gateway uses, in one place. Nothing else formats a key string.

All keys share the `bg:` prefix. Keys that one Lua script touches together carry the same hash tag
(`{...}`), so the layout works on Redis Cluster: per-batch keys are tagged with the batch id, per-tenant
indexes with the tenant. (`providers/keys.py` and `accounting/keys.py` own their packages' keys with the
same prefix, because those packages may not import the gateway.)
"""

from __future__ import annotations

__all__ = ["PREFIX", "file_index", "file_record", "files_by_expiry"]

PREFIX = "bg:"


def file_record(file_id: str) -> str:
    """msgspec-encoded FileRecord."""
    return f"{PREFIX}file:{{{file_id}}}"


def file_index(tenant: str) -> str:
    """Lexicographic sorted set (all scores 0) of a tenant's file ids; ids sort by creation time."""
    return f"{PREFIX}tenant:{{{tenant}}}:files"


def files_by_expiry() -> str:
    """Sorted set of file ids scored by `expires_at`, for the expiry sweep."""
    return f"{PREFIX}files:by-expiry"
