"""Redis down: the API answers a retryable 503 in OpenAI's envelope (never a bare 500), and recovers."""

from __future__ import annotations

import httpx

from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.redis_server import RedisServer
from tests.support.schemas import assert_matches


def test_redis_outage_is_a_retryable_503_then_recovers(gateway: GatewayServer, redis_server: RedisServer) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    assert httpx.get(f"{gateway.base_url}/files", headers=headers).status_code == 200
    redis_server.kill()
    try:
        down = httpx.get(f"{gateway.base_url}/files", headers=headers, timeout=30)
        assert down.status_code == 503
        assert down.headers["retry-after"] == "1"
        assert_matches("ErrorResponse", down.json())
        assert httpx.get(f"{gateway.root_url}/readyz").status_code == 503
    finally:
        redis_server.start()
    assert httpx.get(f"{gateway.base_url}/files", headers=headers).status_code == 200
