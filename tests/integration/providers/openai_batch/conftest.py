"""Simulated upstreams (DeepSeek- and DeepInfra-flavoured) and a blob store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.integration.providers.openai_batch.helpers import API_KEY
from tests.support.batch_upstream import DEEPINFRA, DEEPSEEK, BatchUpstream
from tests.support.blobs import DirBlobs


@pytest.fixture(params=["deepseek", "deepinfra"])
def sim(request: pytest.FixtureRequest) -> Iterator[BatchUpstream]:
    flavour = DEEPSEEK if request.param == "deepseek" else DEEPINFRA
    upstream = BatchUpstream(msgspec.structs.replace(flavour, api_key=API_KEY))
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def deepseek() -> Iterator[BatchUpstream]:
    upstream = BatchUpstream(msgspec.structs.replace(DEEPSEEK, api_key=API_KEY))
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def blobs(tmp_path: Path) -> DirBlobs:
    return DirBlobs(tmp_path / "blobs")
