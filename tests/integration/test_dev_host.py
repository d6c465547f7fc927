"""Dev mode (no tenants) answers only requests addressed to a loopback name: a DNS-rebinding page in a
browser on the same machine sends its own name as Host and gets 421 in OpenAI's envelope, on every route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import msgspec
import pytest

from gateway.config.settings import RedisSettings, default_settings
from gateway.http.host_guard import host_name
from tests.support.gateway_server import GatewayServer
from tests.support.redis_server import RedisServer


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[GatewayServer]:
    settings = msgspec.structs.replace(
        default_settings(), data_dir=str(tmp_path_factory.mktemp("dev")), redis=RedisSettings(url=redis_server.url)
    )
    assert not settings.tenants
    server = GatewayServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "localhost:{port}", "[::1]:{port}"])
def test_loopback_names_are_served(dev_server: GatewayServer, host: str) -> None:
    port = dev_server.root_url.rsplit(":", 1)[1]
    response = httpx.get(
        f"{dev_server.root_url}/v1/batches",
        headers={"host": host.format(port=port), "authorization": "Bearer anything"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.", "[::1]evil", "10.0.0.1", ""],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/batches"), ("POST", "/v1/batches"), ("GET", "/metrics")])
def test_a_foreign_host_gets_421(dev_server: GatewayServer, host: str, method: str, path: str) -> None:
    port = dev_server.root_url.rsplit(":", 1)[1]
    response = httpx.request(
        method,
        f"{dev_server.root_url}{path}",
        headers={"host": host.format(port=port), "authorization": "Bearer anything"},
        json={"input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert response.status_code == 421
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "misdirected_request", "host")
    assert response.headers["x-request-id"]


def test_host_name_strips_only_a_port() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("[::1]") == "[::1]"
    assert host_name("localhost:") == "localhost:"
    assert host_name("evil:localhost") == "evil:localhost"
