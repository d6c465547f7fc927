"""Integration fixtures shared across folders: one S3-compatible server (moto) per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.storage.s3_server import S3Server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()
