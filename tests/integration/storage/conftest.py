"""Storage fixtures: one S3 server per session, a fresh bucket per test, both backends parametrized."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.config.settings import Settings, StorageSettings, default_settings
from gateway.storage.factory import Storage, open_storage
from gateway.storage.s3 import S3Storage
from tests.integration.storage.s3_server import S3Server

SMALL_PART = 5 * 1024 * 1024  # S3's minimum part size, so a test object spans several parts cheaply


@pytest.fixture
def s3_client(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def storage_settings(url: str, data_dir: Path) -> Settings:
    return msgspec.structs.replace(default_settings(), data_dir=str(data_dir), storage=StorageSettings(url=url))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """The backend under test, built the way the gateway builds it: through `open_storage`."""
    if backend == "local":
        return open_storage(storage_settings("", tmp_path), environ={})
    return request.getfixturevalue("s3_storage")  # type: ignore[no-any-return]


@pytest.fixture
def s3_storage(s3_server: S3Server, bucket: str, tmp_path: Path) -> S3Storage:
    """S3Storage over `bucket` under the prefix `gateway/files`, with the smallest legal part size."""
    store = open_storage(storage_settings(f"s3://{bucket}/gateway/files", tmp_path), environ=s3_server.environ)
    assert isinstance(store, S3Storage)
    store.part_size = SMALL_PART  # force several parts without a large object
    return store
