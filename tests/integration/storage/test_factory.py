"""`open_storage`: the URL picks the backend, the environment (passed in) supplies endpoint and keys."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.config.settings import ConfigError
from gateway.storage.factory import open_storage
from gateway.storage.local import LocalStorage, StorageError
from gateway.storage.s3 import S3Storage
from tests.integration.storage.conftest import storage_settings
from tests.integration.storage.s3_server import S3Server
from tests.integration.storage.test_backends import chunks_of
from tests.support.ports import free_port


def test_empty_url_is_the_data_dir(tmp_path: Path) -> None:
    storage = open_storage(storage_settings("", tmp_path), environ={})
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "files"


@pytest.mark.parametrize(
    "url", ["file:///srv/files", "s3://", "s3:///prefix", "gs://bucket", "s3://bucket/p?x=1", "/srv/files"]
)
def test_unsupported_urls_fail_clearly(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"s3://bucket\[/prefix\]"):
        open_storage(storage_settings(url, tmp_path), environ={})


async def test_specific_endpoint_variable_wins(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    environ = s3_server.environ | {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    environ["AWS_ENDPOINT_URL_S3"] = s3_server.endpoint
    storage = open_storage(storage_settings(f"s3://{bucket}", tmp_path), environ=environ)
    async with asyncio.timeout(10):  # the wrong endpoint would retry for minutes
        assert await storage.write("k", chunks_of(b"v")) == 1


async def test_bucket_without_prefix(s3_server: S3Server, s3_client: Any, bucket: str, tmp_path: Path) -> None:
    storage = open_storage(storage_settings(f"s3://{bucket}/", tmp_path), environ=s3_server.environ)
    await storage.write("files/f1", chunks_of(b"data"))
    assert s3_client.get_object(Bucket=bucket, Key="files/f1")["Body"].read() == b"data"


async def test_missing_bucket_is_not_ready(s3_server: S3Server, tmp_path: Path) -> None:
    storage = open_storage(storage_settings("s3://no-such-bucket", tmp_path), environ=s3_server.environ)
    assert not await storage.check_writable()


async def test_unreachable_endpoint_is_not_ready_within_the_probe_timeout(s3_server: S3Server, tmp_path: Path) -> None:
    environ = s3_server.environ | {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    storage = open_storage(storage_settings("s3://bucket", tmp_path), environ=environ)
    assert isinstance(storage, S3Storage)
    storage.probe_timeout = 1.0
    started = time.monotonic()
    assert not await storage.check_writable()
    assert time.monotonic() - started < 3.0


async def test_unwritable_local_root_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "files").write_bytes(b"a file where the directory should be")
    storage = open_storage(storage_settings("", tmp_path), environ={})
    assert not await storage.check_writable()


async def test_backend_failure_is_a_storage_error(s3_server: S3Server, tmp_path: Path) -> None:
    storage = open_storage(storage_settings("s3://no-such-bucket", tmp_path), environ=s3_server.environ)
    with pytest.raises(StorageError, match="writing object 'k' failed"):
        await storage.write("k", chunks_of(b"v"))
    with pytest.raises(StorageError):
        await storage.delete("k")
