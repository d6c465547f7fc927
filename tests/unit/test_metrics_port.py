"""`batchgate worker`'s metrics port: the next free one of the default range, or exactly the one given."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from gateway.ops.metrics_port import DEFAULT_PORTS, MetricsPortBusy, MetricsSocket, bind_metrics, serve_metrics


@pytest.fixture
def bound() -> Iterator[list[MetricsSocket]]:
    sockets: list[MetricsSocket] = []
    yield sockets
    for index, metrics in enumerate(sockets):
        if index == 1:  # the one serving (shutdown() waits for serve_forever, which the other never ran)
            metrics.server.shutdown()
        metrics.server.server_close()


def test_default_workers_take_successive_free_ports_of_the_range(bound: list[MetricsSocket]) -> None:
    for _ in range(2):
        metrics = bind_metrics("127.0.0.1", None)
        assert metrics is not None
        bound.append(metrics)
    ports = [metrics.port for metrics in bound]
    assert ports[0] != ports[1]
    assert set(ports) <= set(DEFAULT_PORTS)
    registry = CollectorRegistry()
    Counter("batchgate_probe", "A probe.", registry=registry).inc()
    serve_metrics(bound[1], registry)
    assert "batchgate_probe_total 1.0" in httpx.get(f"http://127.0.0.1:{ports[1]}/metrics", timeout=5).text


def test_a_given_busy_port_is_an_error_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortBusy, match=f"metrics port 127.0.0.1:{port} is already in use"):
            bind_metrics("127.0.0.1", port)


def test_port_zero_turns_the_endpoint_off() -> None:
    assert bind_metrics("127.0.0.1", 0) is None
