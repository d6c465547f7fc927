"""Is the worker alive and is anything stuck: the signals the worker writes and `/readyz`, Prometheus read.

- `batchgate_worker_last_tick_timestamp_seconds`: when the claim loop last went round (only in a process
  that runs a worker); `/readyz` answers 503 once it is older than `STALE_SECONDS`.
- `batchgate_worker_step_errors_total{step,code}`: failed attempts of worker steps (gateway/worker/failures.py).
- `batchgate_batch_oldest_age_seconds{status}`: how long the oldest batch in each non-terminal status has
  been in it (refreshed with the status counts), what the `BatchgateBatchStuck` alert watches.

Also the Redis outage log: one "unavailable" line when the worker loses Redis, one "recovered" line when
it has it back, however many calls failed in between.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["STALE_SECONDS", "TICK_GAUGE", "RedisOutage", "WorkerHealth"]

TICK_GAUGE = "batchgate_worker_last_tick_timestamp_seconds"
# The claim loop goes round at least every few seconds, even while Redis is down (each claim is bounded
# by a timeout); silence this long means it is stuck or dead.
STALE_SECONDS = 30.0

log = structlog.get_logger("batchgate.worker")


class WorkerHealth:
    """One per process (in `Services`): the worker loop ticks it, readers ask whether it is stale."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.running = False  # a worker loop runs in this process
        self.last_tick: float | None = None
        self.step_errors = Counter(
            "batchgate_worker_step_errors", "Failed attempts of worker steps.", ["step", "code"], registry=registry
        )
        self.oldest_age = Gauge(
            "batchgate_batch_oldest_age_seconds",
            "Seconds the oldest batch in each non-terminal status has been in it (0: none).",
            ["status"],
            registry=registry,
        )
        registry.register(_TickCollector(self))

    def tick(self) -> None:
        self.last_tick = time.time()

    def step_error(self, step: str, code: str) -> None:
        self.step_errors.labels(step, code).inc()

    def stale(self, now: float | None = None) -> bool:
        """True when a worker runs here and its loop has not ticked for `STALE_SECONDS`."""
        if not self.running:
            return False
        last = self.last_tick or 0.0
        return (now if now is not None else time.time()) - last > STALE_SECONDS


class _TickCollector(Collector):
    """Yields the tick gauge only where a worker runs, so an API-only replica does not look like a dead worker."""

    def __init__(self, health: WorkerHealth) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        if self._health.running and self._health.last_tick is not None:
            family = GaugeMetricFamily(TICK_GAUGE, "Unix time of the worker loop's last round.")
            family.add_metric([], self._health.last_tick)
            yield family

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(TICK_GAUGE, "Unix time of the worker loop's last round.")


class RedisOutage:
    """Turns a stream of failed Redis calls into one `redis_unavailable` and one `redis_recovered` line.

    Recovery is declared after `SETTLE_SECONDS` of calls without a failure: right after a restart, pooled
    connections to the old server fail once each, and that is still the same outage.
    """

    SETTLE_SECONDS = 1.0

    def __init__(self, component: str) -> None:
        self._component = component
        self._since: float | None = None  # when the outage began
        self._first_ok: float | None = None  # the first success since the last failure

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        self._first_ok = None
        if self._since is None:
            self._since = time.monotonic()
            log.warning("redis_unavailable", component=self._component, error=f"{type(exc).__name__}: {exc}"[:300])

    def ok(self) -> None:
        if self._since is None:
            return
        now = time.monotonic()
        if self._first_ok is None:
            self._first_ok = now
        elif now - self._first_ok >= self.SETTLE_SECONDS:
            log.info("redis_recovered", component=self._component, down_seconds=round(self._first_ok - self._since, 1))
            self._since = self._first_ok = None
