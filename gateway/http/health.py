"""Liveness, readiness and metrics endpoints (no auth: they say nothing about any tenant)."""

from __future__ import annotations

import contextlib

import msgspec
from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

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
async def metrics(services: ServicesDep) -> Response[bytes]:
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
