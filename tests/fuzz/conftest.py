"""A live gateway over loopback for the upload fuzzers (the validator fuzzers need none)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.config.settings import Settings
from tests.conftest import TENANT_KEYS
from tests.fuzz.upload_client import UploadProbe
from tests.support.gateway_server import GatewayServer


@pytest.fixture
def upload_probe(gateway: GatewayServer, settings: Settings) -> Iterator[UploadProbe]:
    headers = {"authorization": f"Bearer {TENANT_KEYS['beta']}"}
    with httpx.Client(base_url=gateway.root_url, headers=headers, timeout=30) as client:
        yield UploadProbe(client, settings.storage_dir)
