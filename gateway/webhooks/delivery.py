"""The delivery loop every worker runs: claim due deliveries from the shared queue, send them signed, end
them on a 2xx, otherwise retry with exponential backoff until `retry_for_seconds` after the event."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import structlog
from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from gateway.config.settings import WebhooksSettings
from gateway.core.redis_types import RedisClient
from gateway.webhooks.endpoints import EndpointStore
from gateway.webhooks.metrics import WebhookMetrics
from gateway.webhooks.queue import Delivery, DeliveryQueue
from gateway.webhooks.sender import Attempt, open_client, send
from providers.retry import full_jitter

__all__ = ["Deliverer", "retry_delay_seconds"]

log = structlog.get_logger("batchgate.webhooks")

IDLE_SECONDS = 0.5
STORE_DOWN_SECONDS = 1.0
PENDING_REFRESH_SECONDS = 5.0
GRACE_SECONDS = 10.0


def retry_delay_seconds(attempts: int, settings: WebhooksSettings) -> float:
    """Delay after the `attempts`-th failed attempt: full jitter under a ceiling doubling from
    `first_retry_seconds` up to `max_retry_seconds`, so a receiver coming back is not hit by every delivery
    at once."""
    return full_jitter(attempts, base=settings.first_retry_seconds, cap=settings.max_retry_seconds)


class Deliverer:
    def __init__(self, redis: RedisClient, settings: WebhooksSettings, registry: CollectorRegistry) -> None:
        self._settings = settings
        self._queue = DeliveryQueue(redis)
        self._endpoints = EndpointStore(redis)
        self._metrics = WebhookMetrics(registry)
        # An attempt (resolution included) is bounded by the timeout, so the lease never ends while it runs.
        self._lease_ms = int((2 * settings.timeout_seconds + 10) * 1000)
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`; then running attempts get a grace period (an unfinished one is retried after its lease)."""
        refreshed = 0.0
        async with open_client(self._settings.timeout_seconds) as http:
            while not stop.is_set():
                started = await self._claim_and_start(http)
                if time.monotonic() - refreshed > PENDING_REFRESH_SECONDS:
                    refreshed = time.monotonic()
                    await self._refresh_pending()
                if not started:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), IDLE_SECONDS)
            if self._running:
                await asyncio.wait(self._running, timeout=GRACE_SECONDS)
            for task in self._running:
                task.cancel()

    async def _claim_and_start(self, http: httpx.AsyncClient) -> int:
        free = self._settings.max_concurrency - len(self._running)
        if free <= 0:
            return 0
        try:
            claimed = await self._queue.claim(now_ms=int(time.time() * 1000), lease_ms=self._lease_ms, limit=free)
        except (RedisError, OSError) as exc:  # Redis down or restarting: the queue is still there afterwards
            log.warning("webhook_claim_failed", error=type(exc).__name__)
            await asyncio.sleep(STORE_DOWN_SECONDS)
            return 0
        for delivery in claimed:
            task = asyncio.create_task(self._deliver_safely(http, delivery), name=f"webhook-{delivery.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return len(claimed)

    async def _refresh_pending(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            self._metrics.pending.set(await self._queue.pending())

    async def _deliver_safely(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            await self.deliver(http, delivery)
        except Exception:  # a Redis error: the delivery comes back when its lease ends
            log.exception("webhook_delivery_step_failed", webhook_id=delivery.id)

    async def deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        """One attempt of a claimed delivery, and what follows from its result."""
        endpoint = await self._endpoints.get(delivery.endpoint_id, tenant=delivery.tenant)
        if endpoint is None or delivery.event_type not in endpoint.event_types:
            await self._queue.finish(delivery)
            self._metrics.observe_end(delivery.tenant, delivery.event_type, "dropped")
            return
        attempt = await send(
            http,
            endpoint,
            delivery.id,
            delivery.body.encode(),
            allowed_hosts=self._settings.allowed_hosts,
            timeout_seconds=self._settings.timeout_seconds,
        )
        self._metrics.observe_attempt(delivery.tenant, delivery.event_type, attempt.result, attempt.seconds)
        if attempt.delivered:
            await self._queue.finish(delivery)
            self._metrics.observe_end(delivery.tenant, delivery.event_type, "delivered")
            return
        await self._after_failure(delivery, attempt)

    async def _after_failure(self, delivery: Delivery, attempt: Attempt) -> None:
        error = attempt.error or f"HTTP {attempt.status_code}"
        give_up = time.time() - delivery.created_at >= self._settings.retry_for_seconds
        delay = 0.0 if give_up else retry_delay_seconds(delivery.attempts, self._settings)
        log.warning(
            "webhook_delivery_failed",
            webhook_id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            tenant=delivery.tenant,
            event_type=delivery.event_type,
            batch_id=delivery.batch_id,
            attempt=delivery.attempts,
            status_code=attempt.status_code,
            error=error,
            retry_in_seconds=None if give_up else round(delay, 3),
        )
        if give_up:
            await self._queue.finish(delivery)
            self._metrics.observe_end(delivery.tenant, delivery.event_type, "abandoned")
            return
        await self._queue.retry(delivery, due_ms=int((time.time() + delay) * 1000), error=error[:500])
