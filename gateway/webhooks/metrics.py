"""Webhook delivery metrics, registered on the process's registry by the delivery loop.

Labels are bounded: the tenant (from the operator's config), the event type (four values) and a result
class. An endpoint id is not a label (tenants create them at will); a failing endpoint is found through
its tenant here and its id in the `webhook_delivery_failed` log line.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["WebhookMetrics"]


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "batchgate_webhook_attempts_total",
            "Webhook delivery attempts, by the receiver's status class (refused: SSRF guard; error: no answer)",
            ["tenant", "event_type", "result"],
            registry=registry,
        )
        self.deliveries = Counter(
            "batchgate_webhook_deliveries_total",
            "Webhook deliveries ended: delivered (2xx), abandoned (retries exhausted), dropped (endpoint gone)",
            ["tenant", "event_type", "outcome"],
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "batchgate_webhook_attempt_seconds",
            "Duration of one webhook delivery attempt",
            ["tenant"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.pending = Gauge(
            "batchgate_webhook_deliveries_pending",
            "Webhook deliveries waiting in the shared queue (as last seen by this worker)",
            registry=registry,
        )

    def observe_attempt(self, tenant: str, event_type: str, result: str, seconds: float) -> None:
        self.attempts.labels(tenant, event_type, result).inc()
        self.attempt_seconds.labels(tenant).observe(seconds)

    def observe_end(self, tenant: str, event_type: str, outcome: str) -> None:
        self.deliveries.labels(tenant, event_type, outcome).inc()
