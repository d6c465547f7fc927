"""The `batchgate worker` metrics endpoint: bound before the worker starts, so a busy port fails at once.

Without `--metrics-port` the first free port of `DEFAULT_PORTS` (9464-9473) is taken, so several workers
run on one host with default settings; the chosen port is logged. An explicit port that is busy is an
error (`MetricsPortBusy`): the operator asked for that one.
"""

from __future__ import annotations

import errno
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

__all__ = ["DEFAULT_PORTS", "MetricsPortBusy", "MetricsSocket", "bind_metrics", "serve_metrics"]

DEFAULT_PORTS = range(9464, 9474)

log = structlog.get_logger("batchgate.worker")


class MetricsPortBusy(Exception):
    """No port to serve /metrics on; the message says which and what to do."""


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib's parameter name
        """Scrapes are not worth a log line each."""


class MetricsSocket:
    """A bound, not yet serving, metrics endpoint."""

    def __init__(self, server: WSGIServer, host: str, port: int) -> None:
        self.server, self.host, self.port = server, host, port


def bind_metrics(host: str, port: int | None) -> MetricsSocket | None:
    """Bind `port`, or the first free one of `DEFAULT_PORTS` when None; None when `port` is 0 (off)."""
    if port == 0:
        return None
    candidates = DEFAULT_PORTS if port is None else range(port, port + 1)
    for candidate in candidates:
        try:
            server = make_server(host, candidate, _unset, ThreadingWSGIServer, handler_class=_Quiet)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise MetricsPortBusy(f"cannot serve metrics on {host}:{candidate}: {exc.strerror}") from None
            continue
        log.info("worker_metrics_port", host=host, port=candidate, chosen="default range" if port is None else "given")
        return MetricsSocket(server, host, candidate)
    if port is None:
        raise MetricsPortBusy(
            f"every metrics port {DEFAULT_PORTS.start}-{DEFAULT_PORTS.stop - 1} on {host} is in use; "
            "pass --metrics-port PORT (or 0 for none)"
        )
    raise MetricsPortBusy(
        f"metrics port {host}:{port} is already in use; pass another --metrics-port, "
        "or leave it out to take the first free port of 9464-9473"
    )


def serve_metrics(metrics: MetricsSocket, registry: CollectorRegistry) -> None:
    """Serve `registry` on the bound socket from a daemon thread (as prometheus_client's own server does)."""
    metrics.server.set_app(make_wsgi_app(registry))
    threading.Thread(target=metrics.server.serve_forever, name="metrics", daemon=True).start()


def _unset(environ: object, start_response: object) -> list[bytes]:
    raise RuntimeError("the metrics endpoint is bound but not serving yet")
