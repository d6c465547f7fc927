"""Every Redis key the gateway uses, in one place. Nothing else formats a key string.

All keys share the `bg:` prefix. Keys that one Lua script or transaction touches together carry the same
hash tag (`{...}`), so every script runs in one slot on Redis Cluster:

- `{batches}`: every batch lifecycle key (records, event streams, status and expiry indexes, tenant batch
  indexes, in-flight sets), because the lifecycle script moves a batch between global indexes in the
  same atomic step that changes its record. One slot holds all batch metadata: small records, a few writes
  per batch; the per-line traffic lives on the executor's per-batch tags (`providers/keys.py`).
- `{files}`: every file metadata key (records, tenant indexes, the expiry index), written in one
  transaction per upload or delete. File contents live in storage, not Redis.
- `{webhooks}`: webhook endpoints, their tenant indexes and the delivery queue, so enqueueing an event for
  every endpoint of a tenant and claiming due deliveries are single scripts.
- `{work}`: the shared work schedule. Upload leases are tagged per tenant (one key per script).

(`providers/keys.py` and `accounting/keys.py` own their packages' keys with the same prefix, because those
packages may not import the gateway.)
"""

from __future__ import annotations

from gateway.core.keyspace import PREFIX

__all__ = [
    "PREFIX",
    "batch_events",
    "batch_index",
    "batch_record",
    "batches_by_expiry",
    "batches_by_status",
    "batches_in_flight",
    "deferred_lines",
    "file_index",
    "file_record",
    "files_by_expiry",
    "measured_throughput",
    "upload_leases",
    "webhook_batch_event",
    "webhook_deliveries_due",
    "webhook_delivery",
    "webhook_endpoint",
    "webhook_endpoint_index",
    "work_claims",
    "work_due",
    "work_tokens",
]

_BATCHES = f"{PREFIX}{{batches}}:"
_FILES = f"{PREFIX}{{files}}:"


def file_record(file_id: str) -> str:
    """msgspec-encoded FileRecord."""
    return f"{_FILES}file:{file_id}"


def file_index(tenant: str, purpose: str | None = None) -> str:
    """Lexicographic sorted set (all scores 0) of a tenant's file ids, optionally of one purpose only.

    Ids sort by creation time, so lexicographic order is creation order.
    """
    suffix = "" if purpose is None else f":{purpose}"
    return f"{_FILES}tenant:{tenant}{suffix}"


def upload_leases(tenant: str) -> str:
    """Sorted set of a tenant's running uploads: lease id scored by the unix-ms time the lease ends."""
    return f"{PREFIX}tenant:{{{tenant}}}:uploads"


def files_by_expiry() -> str:
    """Sorted set of file ids scored by `expires_at`, for the expiry sweep."""
    return f"{_FILES}by-expiry"


def batch_record(batch_id: str) -> str:
    """Hash of a BatchRecord: one field per record field, each msgspec-JSON encoded (`status` plain)."""
    return f"{_BATCHES}batch:{batch_id}"


def batch_events(batch_id: str) -> str:
    """Stream of a batch's status transitions (time, from, to, cause)."""
    return f"{_BATCHES}batch:{batch_id}:events"


def batch_index(tenant: str) -> str:
    """Lexicographic sorted set (all scores 0) of a tenant's batch ids; ids sort by creation time."""
    return f"{_BATCHES}tenant:{tenant}"


def batches_in_flight(tenant: str) -> str:
    """Set of a tenant's batch ids admitted and not yet seen terminal (pruned by the admission script)."""
    return f"{_BATCHES}tenant:{tenant}:in-flight"


def batches_by_status(status: str) -> str:
    """Sorted set of the batch ids currently in `status`, scored by when they entered it (unix s)."""
    return f"{_BATCHES}status:{status}"


def batches_by_expiry() -> str:
    """Sorted set of non-terminal batch ids scored by `expires_at` (unix s), for the expiry sweep."""
    return f"{_BATCHES}by-expiry"


def deferred_lines(provider: str) -> str:
    """Hash: batch id → its line count, for every batch of `provider` waiting for an off-peak window."""
    return f"{PREFIX}deferred:{provider}"


def measured_throughput() -> str:
    """Hash: provider name → lines per second of its last completed deferred batch (the deferral estimate)."""
    return f"{PREFIX}throughput"


def work_due() -> str:
    """Sorted set of batch ids scored by the unix-ms time they are next due (a claim re-scores to its lease end)."""
    return f"{PREFIX}{{work}}:due"


def work_claims() -> str:
    """Hash batch id -> fencing token of the live claim; same hash tag as `work_due`."""
    return f"{PREFIX}{{work}}:claims"


def work_tokens() -> str:
    """Counter issuing fencing tokens; same hash tag as `work_due`."""
    return f"{PREFIX}{{work}}:token"


_WEBHOOKS = f"{PREFIX}{{webhooks}}:"


def webhook_endpoint(endpoint_id: str) -> str:
    """Hash of a webhook endpoint (`gateway.webhooks.records`), its signing secrets included."""
    return f"{_WEBHOOKS}endpoint:{endpoint_id}"


def webhook_endpoint_index(tenant: str) -> str:
    """Lexicographic sorted set (all scores 0) of a tenant's webhook endpoint ids; ids sort by creation time."""
    return f"{_WEBHOOKS}tenant:{tenant}"


def webhook_delivery(webhook_id: str) -> str:
    """Hash of one pending delivery (one event to one endpoint), deleted when delivered or abandoned."""
    return f"{_WEBHOOKS}delivery:{webhook_id}"


def webhook_deliveries_due() -> str:
    """Sorted set of pending delivery ids scored by the unix-ms time they are next due (a claim re-scores
    to its lease end, so a dead worker's attempt comes back by itself)."""
    return f"{_WEBHOOKS}due"


def webhook_batch_event(batch_id: str) -> str:
    """Marker that a batch's terminal event was enqueued (holds the event id): enqueueing happens once."""
    return f"{_WEBHOOKS}batch-event:{batch_id}"
