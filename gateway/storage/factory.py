"""Choose the storage backend from `storage.url`: a local directory, or an S3-compatible bucket.

    ""                    → LocalStorage(<data_dir>/files)
    "s3://bucket"         → S3Storage over the whole bucket
    "s3://bucket/prefix"  → S3Storage with every key under `prefix/`

Endpoint and credentials for S3 come from the standard AWS environment variables, read here only (at
an entry point, never at import): AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (MinIO, Ceph, R2; absent
for AWS itself), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or
AWS_DEFAULT_REGION. Without keys the client falls back to its own chain (instance or pod identity).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from gateway.config.settings import ConfigError, Settings
from gateway.storage.local import LocalStorage
from providers.base import BlobStore

if TYPE_CHECKING:
    from obstore.store import S3Config

__all__ = ["Storage", "open_storage"]


class Storage(BlobStore, Protocol):
    """What the gateway needs of a backend: the providers' BlobStore plus what `/readyz` and cleanup ask."""

    async def exists(self, key: str) -> bool: ...

    async def check_writable(self) -> bool:
        """True when an object can be created and removed right now (readiness)."""
        ...

    async def sweep_partials(self, max_age_seconds: float = ...) -> int:
        """Remove leftovers of writes whose writer died; returns the count."""
        ...


def open_storage(settings: Settings, environ: Mapping[str, str] | None = None) -> Storage:
    """The backend `settings.storage.url` names; `environ` defaults to the process environment."""
    url = settings.storage.url
    if not url:
        return LocalStorage(settings.storage_dir)
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"storage.url {url!r}: expected empty (a local directory) or s3://bucket[/prefix]")
    return _open_s3(parts.netloc, parts.path.strip("/"), os.environ if environ is None else environ)


def _open_s3(bucket: str, prefix: str, env: Mapping[str, str]) -> Storage:
    # Imported here so a local-only deployment never loads the S3 client.
    from obstore.store import S3Store

    from gateway.storage.s3 import S3Storage

    config = _s3_config(env)
    endpoint = config.get("endpoint", "")
    # Path-style requests (bucket in the path) work on every S3-compatible server; AWS accepts them too.
    store = S3Store(
        bucket,
        prefix=prefix or None,
        config=config,
        client_options={"allow_http": endpoint.startswith("http://")},
    )
    return S3Storage(store)


def _s3_config(env: Mapping[str, str]) -> S3Config:
    config: S3Config = {}
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        config["region"] = region
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        config["access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        config["secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
        if env.get("AWS_SESSION_TOKEN"):
            config["session_token"] = env["AWS_SESSION_TOKEN"]
    return config
