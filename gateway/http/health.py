"""Liveness, readiness and metrics endpoints (no tenant auth: without a scrape token they say nothing about any
tenant; `/metrics` leaves out every tenant-labelled series unless the scraper presents one)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from accounting.metrics import WithoutLabels
from gateway.http.deps import ServicesDep

__all__ = ["healthz", "metrics", "readyz"]


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    redis: bool | None = None
    storage: bool | None = None
    draining: bool | None = None
    worker: bool | None = None  # where a worker runs in this process: its loop ticked recently


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> Health:
    return Health(status="ok")


@get("/readyz", include_in_schema=False)
async def readyz(services: ServicesDep) -> Response[Health]:
    redis_ok = False
    with contextlib.suppress(RedisError, OSError):
        redis_ok = bool(await services.redis.ping())
    storage_ok = await services.storage.check_writable()
    worker = services.worker_health
    worker_ok = not worker.stale()
    ready = redis_ok and storage_ok and worker_ok and not services.draining
    health = Health(
        status="ok" if ready else "unavailable",
        redis=redis_ok,
        storage=storage_ok,
        draining=services.draining,
        worker=worker_ok if worker.running else None,
    )
    return Response(health, status_code=200 if ready else 503)


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[object, object, State], services: ServicesDep) -> Response[bytes]:
    """Operational series for anyone; tenant- and tag-level series only with a scrape token
    (`server.metrics_token_sha256`)."""
    tokens = services.settings.server.metrics_token_sha256
    full = _has_scrape_token(request.headers.get("authorization"), tokens)
    source = services.registry if full else WithoutLabels(services.registry, services.metrics.business_labels)
    return Response(generate_latest(source), media_type=CONTENT_TYPE_LATEST)


def _has_scrape_token(authorization: str | None, digests: list[str]) -> bool:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not digests:
        return False
    presented = hashlib.sha256(token.strip().encode()).digest()
    # Compare against every digest, so timing does not tell which (or whether one) matched.
    matches = [hmac.compare_digest(presented, bytes.fromhex(digest)) for digest in digests]
    return any(matches)
